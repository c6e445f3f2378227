// Fill-in-the-middle prompts.
//
// The DeepSeek-V4 release does not specify a FIM prompt format (spec §5.4): the FIM
// tokens exist in the vocabulary (<｜fim▁begin｜> 128801, <｜fim▁hole｜> 128800,
// <｜fim▁end｜> 128802), but neither the encoder nor the model card says how to use them.
// This renders the layout of the earlier DeepSeek coder models,
//   <｜begin▁of▁sentence｜><｜fim▁begin｜>prefix<｜fim▁hole｜>suffix<｜fim▁end｜>
// after which the model writes the middle. Treat it as unverified for V4.
#pragma once

#include <string>
#include <string_view>

namespace dsv4::text {

inline constexpr std::string_view kFimBeginText = "<｜fim▁begin｜>";
inline constexpr std::string_view kFimHoleText = "<｜fim▁hole｜>";
inline constexpr std::string_view kFimEndText = "<｜fim▁end｜>";

// Tokenize the result with add_special_tokens=false, like chat prompts.
std::string render_fim_prompt(std::string_view prefix, std::string_view suffix, bool add_bos = true);

}  // namespace dsv4::text
