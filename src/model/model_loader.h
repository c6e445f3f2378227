// Loading a model directory as DeepSeek publishes it: config.json + safetensors shards
// (or a single model.safetensors). The checkpoint stays memory-mapped for the lifetime of
// the LoadedModel; weights are views into it.
#pragma once

#include <memory>
#include <string>

#include "dsv4/status.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/load_progress.h"
#include "model/weights.h"

namespace dsv4 {

struct ModelLoadOptions {
  // Read every page of the checkpoint before returning, so that the first forward pass
  // does not stall on page faults (and a truncated or unreadable file fails here).
  bool prefault = false;
  int n_threads = 1;                   // threads for pre-faulting
  LoadProgressSink* progress = nullptr;  // progress of pre-faulting; may be null
};

struct LoadedModel {
  std::string directory;
  ModelConfig config;
  Checkpoint checkpoint;
  std::unique_ptr<ModelWeights> weights;
  // Other storage the weights point into (an in-memory checkpoint in tests).
  std::shared_ptr<const void> storage;
  // The tensors the weights were bound from, by checkpoint name (what a device upload copies).
  std::shared_ptr<const TensorLookup> tensors;
};

Result<std::unique_ptr<LoadedModel>> load_model(const std::string& directory, const ModelLoadOptions& options);

}  // namespace dsv4
