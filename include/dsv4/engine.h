// The engine: the public API between front ends (HTTP server, CLI) and inference.
//
// One engine thread owns all mutable inference state — scheduler, KV pages, request
// table — and runs one ragged-batch forward per step (chunked prefill and decode mixed).
// Front ends submit token ids and read each request's event stream; every method here is
// safe to call from any thread. Front ends never see tensors, pages or kernels.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dsv4/request.h"
#include "dsv4/status.h"

namespace dsv4 {

enum class NumericsMode : uint8_t {
  kReference,  // bf16 activations with DeepSeek's quantization simulations (the default)
  kExact,      // fp32, nothing quantized at run time
};

// Where the engine runs the model.
enum class DeviceKind : uint8_t {
  kCpu,   // the CPU backend on the host's threads, weights read from the mapped checkpoint
  kCuda,  // the CUDA backend on one GPU, weights copied to it (builds with CUDA only)
};

struct DeviceSpec {
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;  // the GPU, for kCuda

  // "cpu", "cuda:0".
  std::string to_string() const;
  // "cpu", "cuda" (GPU 0) or "cuda:N"; anything else is an error naming the accepted forms.
  static Result<DeviceSpec> parse(const std::string& text);
};

struct EngineConfig {
  std::string model_dir;
  DeviceSpec device;
  int n_threads = 0;                     // 0: all hardware threads (CPU device: the forward pass; all: loading)
  NumericsMode numerics = NumericsMode::kReference;

  // KV cache capacity: an explicit byte budget, or a fraction of the device's available
  // memory (CPU: MemAvailable; GPU: free memory once the weights are on it).
  int64_t kv_cache_bytes = 0;
  double kv_cache_fraction = 0.4;
  int64_t page_tokens = 256;             // tokens per KV page, a multiple of 128

  int64_t max_num_seqs = 64;             // sequences running at once
  int64_t max_num_batched_tokens = 2048; // tokens per step (prefill chunks + decodes)
  int64_t max_model_len = 0;             // 0: the model's max_position_embeddings
  int64_t max_waiting = 4096;            // bounded admission queue (submit fails beyond)
  bool enable_prefix_caching = true;
  // Decode steps replay their row-wise stretches (projections, norms, hyper-connections, the
  // MoE) from CUDA graphs captured per padded batch size (1, 2, 4, 8, then every 8 up to
  // max_num_seqs); attention runs as plain launches between them. CUDA device only.
  bool decode_graphs = false;

  // Bytes of each token id, for stop strings (empty: stop strings are rejected).
  std::vector<std::string> token_bytes;
};

// What the engine serves, for front ends (limits, special ids, capacity).
struct EngineInfo {
  std::string model_dir;
  std::string device;                    // "cpu (16 threads)", "GPU 0 (NVIDIA H100 80GB HBM3)"
  int64_t vocab_size = 0;
  int64_t max_model_len = 0;
  int32_t bos_token_id = 0;
  int32_t eos_token_id = 1;
  int64_t kv_pages = 0;
  int64_t page_tokens = 0;
  int64_t kv_bytes_per_token = 0;        // amortized, from the paged layout
  int64_t kv_bytes_per_sequence = 0;     // window + compressor state of one running sequence
  int64_t max_num_seqs = 0;
};

struct EngineMetrics {
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t kv_pages_total = 0;
  int64_t kv_pages_used = 0;      // referenced by running sequences
  int64_t kv_pages_cached = 0;    // unreferenced, kept for prefix-cache hits
  int64_t prefix_cache_queries = 0;   // prompt tokens looked up
  int64_t prefix_cache_hits = 0;      // prompt tokens found
  int64_t prompt_tokens = 0;          // totals since start
  int64_t generation_tokens = 0;
  int64_t device_sampled_tokens = 0;  // generated tokens the backend sampled (the rest: the host)
  int64_t graph_replays = 0;          // decode-step segments replayed from a graph
  int64_t graph_captures = 0;         // graphs captured (again after the memory they name moved)
  int64_t requests_finished = 0;
  int64_t requests_cancelled = 0;
  int64_t preemptions = 0;
  int64_t steps = 0;
};

// A submitted request's stream of events. The stream ends after every choice has sent an
// event with a finish reason.
class RequestStream {
 public:
  virtual ~RequestStream() = default;
  virtual uint64_t id() const = 0;
  // Blocks until an event is available; false once the stream has ended.
  virtual bool next(StreamEvent* event) = 0;
  // As next(), but gives up after `timeout` (returns false with *timed_out = true).
  virtual bool next_for(StreamEvent* event, std::chrono::milliseconds timeout, bool* timed_out) = 0;
  // Stops the request at the next step boundary and frees its pages; idempotent.
  virtual void cancel() = 0;
  // Final accounting (complete once the stream has ended).
  virtual Usage usage() const = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Loads the model and starts the engine thread.
  static Result<std::unique_ptr<Engine>> create(const EngineConfig& config);

  // Validates and enqueues a request. Errors: empty prompt, token ids outside the
  // vocabulary, prompt + max_tokens beyond the context (with the numbers), bad sampling
  // parameters, a full admission queue (kResourceExhausted).
  virtual Result<std::shared_ptr<RequestStream>> submit(GenerationRequest request) = 0;

  virtual EngineMetrics metrics() const = 0;
  virtual const EngineInfo& info() const = 0;
};

}  // namespace dsv4
