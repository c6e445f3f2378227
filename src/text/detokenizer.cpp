// IncrementalDetokenizer: byte tokens -> UTF-8 text without split characters.
#include "text/detokenizer.h"

#include "text/utf8.h"

namespace dsv4::text {

void IncrementalDetokenizer::push(int32_t id, std::string* out) {
  if (!tokenizer_->is_known(id) || (skip_special_ && tokenizer_->is_special(id))) return;
  const std::string_view bytes = tokenizer_->token_bytes(id);
  if (pending_.empty()) {
    const size_t used = append_lossy_utf8(bytes, /*final=*/false, out);
    pending_.assign(bytes.substr(used));
    return;
  }
  pending_.append(bytes);
  const size_t used = append_lossy_utf8(pending_, /*final=*/false, out);
  pending_.erase(0, used);
}

void IncrementalDetokenizer::finish(std::string* out) {
  append_lossy_utf8(pending_, /*final=*/true, out);
  pending_.clear();
}

}  // namespace dsv4::text
