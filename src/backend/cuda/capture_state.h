// CaptureState: the CUDA backend's bookkeeping for Backend::capture.
//
// An op that needs the host (an upload, a download, an allocation, a wait) cannot become part
// of a graph: a graph replays device work only, with the arguments it was captured with. Such
// an op inside a capture is a normal event, not a bug (the model captures a segment before
// knowing whether its ops all stay on the device), so instead of stopping the process it
// poisons the capture: the first one is remembered for the failure message, the op skips its
// host part, and the capture ends in a failure that names it. Memory handed out while
// capturing is zeroed only once the capture has ended (its memset could only join the
// discarded capture).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/device_pool.h"

namespace dsv4 {

class CaptureState {
 public:
  void begin() {
    active_ = true;
    poison_.clear();
    to_zero_.clear();
  }
  void end() { active_ = false; }
  bool active() const { return active_; }

  // Whether the host part of an op moving or allocating `bytes` may run: always outside a
  // capture, never inside one, where the first such op of any bytes poisons the capture.
  // `detail` (may be null) says what the bytes are.
  bool host_allowed(const char* op, size_t bytes, const char* detail = nullptr) {
    if (!active_) return true;
    if (bytes > 0 && poison_.empty()) {
      poison_ = std::string(op) + " of " + std::to_string(bytes) + " bytes";
      if (detail != nullptr) poison_ += std::string(" (") + detail + ")";
      poison_ += " needs the host";
    }
    return false;
  }
  // Why the capture under way (or the last one) fails; empty when nothing poisoned it.
  const std::string& poison() const { return poison_; }

  // A block handed out while capturing, to be zeroed after the capture if it still exists.
  void zero_after(std::weak_ptr<PoolBuffer> block) { to_zero_.push_back(std::move(block)); }
  std::vector<std::weak_ptr<PoolBuffer>> take_blocks_to_zero() { return std::exchange(to_zero_, {}); }

 private:
  bool active_ = false;
  std::string poison_;
  std::vector<std::weak_ptr<PoolBuffer>> to_zero_;
};

}  // namespace dsv4
