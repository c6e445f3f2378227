// Named model configurations that are not read from a checkpoint: the tiny model the
// set-up generates (every DSV4 feature at toy sizes) and the "slice" with the real Flash
// layer dimensions but only a few layers (for bandwidth benchmarks).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsv4/status.h"
#include "model/config.h"

namespace dsv4 {

// Hidden 256, 6 layers with ratios 0,0,4,128,4,128 (hash routing on 0-2), 16 experts of
// width 128 (top 6), index_topk 16, the 128-token window, an MTP block, and the real
// vocabulary size (so that the real tokenizer's ids are valid) unless vocab_size > 0.
ModelConfig tiny_model_config(int64_t vocab_size = 0);

// Smaller still, for engine soak tests: hidden 128, layers 0,4,128 (hash routing on layer
// 0), 8 experts (top 2), index_topk 8, vocab 512 — every kind of state, at minimal cost.
ModelConfig micro_model_config();

// The Flash config with `ratios` as its main layers (e.g. {4, 128}) and no MTP block.
ModelConfig flash_slice_config(const std::vector<int64_t>& ratios);

// "tiny", "tiny-small-vocab" (vocab 1024), "micro", "flash", "flash-slice" (layers 2..5
// of Flash: ratios 4,128,4,128).
Result<ModelConfig> preset_model_config(const std::string& name);

}  // namespace dsv4
