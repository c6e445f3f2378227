// Next-token sampling of one logits row on the device: temperature, top-k, top-p, min-p and
// the draw, with the definitions of the engine's CPU sampler (src/runtime/sampler_truncation.h)
// and its rounding, so that a row sampled here gives the token the CPU sampler gives for the
// same logits and the same uniform draw.
//
// The CPU sampler is this op's reference. It is not in kernels/ref because it is the engine's
// production sampler (SIMD passes, one thread per row) and kernels may not depend on src/;
// the CUDA kernel's emulated test compares against it directly.
//
// Logit processing that needs per-request state (logit bias, penalties, min_tokens masks) and
// logprobs stay on the host: the engine samples such rows there.
#pragma once

#include <cstdint>

namespace dsv4k {

// One row's settings, as TruncationSettings::from() normalizes a request. Transcendentals are
// evaluated on the host (the device's log may differ from the host's in the last bit).
struct SampleRowParams {
  double temperature = 1.0;  // 0: argmax
  float inv_t = 1.0f;        // float(1.0 / temperature); unused when temperature == 0
  int64_t top_k = 0;         // 0: off; otherwise in [1, vocab)
  double top_p = 1.0;        // (0, 1]; 1: off
  double min_p = 0.0;        // [0, 1]; 0: off
  double ln_min_p = 0.0;     // log(min_p) when min_p > 0
  double u = 0.0;            // the row's uniform draw in [0, 1)
};

// What the device did with a row.
enum SampleStatus : int32_t {
  kSampleDone = 0,       // tokens[row] holds the sampled token
  kSampleNeedsHost = 1,  // the support is larger than the device's candidate buffer: sample
                         // this row on the host (tokens[row] is -1)
};

}  // namespace dsv4k
