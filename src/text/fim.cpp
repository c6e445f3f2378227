// Fill-in-the-middle prompt layout (unverified for V4, see fim.h).
#include "text/fim.h"

#include "text/chat_templates.h"

namespace dsv4::text {

std::string render_fim_prompt(std::string_view prefix, std::string_view suffix, bool add_bos) {
  std::string out;
  out.reserve(prefix.size() + suffix.size() + 96);
  if (add_bos) out.append(kBosText);
  out.append(kFimBeginText).append(prefix).append(kFimHoleText).append(suffix).append(kFimEndText);
  return out;
}

}  // namespace dsv4::text
