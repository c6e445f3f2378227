// DevicePool: a caching allocator for device memory (activations, workspaces, KV pages).
//
// cudaMalloc and cudaFree synchronize the device and cost tens to hundreds of µs, far too
// much per forward step; the pool takes memory from the raw allocator in segments (2 MiB
// granules, or the request rounded up to them) and serves requests from them:
//   - sizes are rounded up to 512 B (every block stays 512-byte aligned, enough for any
//     vector load);
//   - a request takes the smallest free block that fits (best fit, ties: lowest address),
//     split when at least 512 B remain;
//   - a freed block merges with free neighbours of its segment;
//   - blocks are kept per stream: a block freed by work queued on stream S may still be
//     read by that work, so only later requests on S may reuse it (stream order makes that
//     safe without events); other streams never see it;
//   - when the raw allocator fails, or the pool would pass its byte budget, the pool
//     returns its wholly free segments to the raw allocator and tries once more; then it
//     fails with a message that says how much was asked, held and cached.
// It never uses managed memory: the raw allocator is cudaMalloc on a GPU, and host memory
// for the tests that check this policy without one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "dsv4/status.h"

namespace dsv4 {

// Where segments come from. allocate returns nullptr (never throws) when it cannot.
class RawDeviceAllocator {
 public:
  virtual ~RawDeviceAllocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* ptr, size_t bytes) = 0;
  // For messages: "cudaMalloc on GPU 0", "host memory".
  virtual std::string describe() const = 0;
};

struct DevicePoolOptions {
  size_t max_reserved_bytes = SIZE_MAX;  // budget for segments held at once
};

struct DevicePoolStats {
  size_t allocated_bytes = 0;       // in blocks handed out (rounded sizes)
  size_t reserved_bytes = 0;        // in segments held from the raw allocator
  size_t peak_allocated_bytes = 0;
  size_t peak_reserved_bytes = 0;
  int64_t n_requests = 0;           // successful allocate() calls
  int64_t n_segment_allocs = 0;     // raw allocations
  int64_t n_segment_releases = 0;   // raw releases
  int64_t n_failures = 0;           // allocate() calls that failed
  int64_t n_frees = 0;              // blocks given back (free(), PoolBuffer), as n_frees()
};

class DevicePool {
 public:
  static constexpr size_t kAlignment = 512;
  static constexpr size_t kSegmentGranule = size_t{2} << 20;

  // `raw` must outlive the pool.
  DevicePool(RawDeviceAllocator& raw, DevicePoolOptions options = {});
  ~DevicePool();  // releases every segment (blocks still handed out become invalid)
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;

  // A block of at least `bytes` for work on `stream` (an opaque key: a cudaStream_t).
  // bytes == 0 gives a null pointer and succeeds.
  Result<void*> allocate(size_t bytes, void* stream);
  // Gives back a block from allocate(); null is ignored. An unknown pointer is a bug
  // (DSV4_CHECK).
  void free(void* ptr);

  // Returns every wholly free segment to the raw allocator.
  void release_cached();
  DevicePoolStats stats() const;
  // How many blocks have been given back so far, without taking the pool's lock: the CUDA
  // backend's memory epoch. A graph names blocks by address, and an address can only come to
  // mean other memory after its block was given back, so a graph captured at one count is
  // sound while the count stays the same.
  uint64_t n_frees() const { return n_frees_.load(std::memory_order_relaxed); }

 private:
  struct Block;
  struct BySize {
    bool operator()(const Block* a, const Block* b) const;
  };
  using FreeSet = std::set<Block*, BySize>;

  Block* take_free(size_t size, void* stream);
  Block* new_segment(size_t size, void* stream);
  Block* split(Block* b, size_t size);
  static void absorb(Block* left, Block* right);
  void merge_into_free(Block* b);
  void release_free_segments();
  std::string exhausted_message(size_t bytes) const;

  RawDeviceAllocator& raw_;
  DevicePoolOptions options_;
  mutable std::mutex mutex_;
  std::map<void*, FreeSet> free_;              // per stream
  std::map<uintptr_t, Block*> in_use_;          // by address
  std::map<uintptr_t, Block*> segments_;        // segment heads by address
  DevicePoolStats stats_;
  std::atomic<uint64_t> n_frees_{0};
};

// A block that goes back to its pool when destroyed.
class PoolBuffer {
 public:
  PoolBuffer() = default;
  PoolBuffer(DevicePool* pool, void* ptr, size_t bytes) : pool_(pool), ptr_(ptr), bytes_(bytes) {}
  PoolBuffer(PoolBuffer&& o) noexcept
      : pool_(std::exchange(o.pool_, nullptr)), ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  PoolBuffer& operator=(PoolBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      pool_ = std::exchange(o.pool_, nullptr);
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  PoolBuffer(const PoolBuffer&) = delete;
  PoolBuffer& operator=(const PoolBuffer&) = delete;
  ~PoolBuffer() { reset(); }

  void reset() {
    if (pool_ != nullptr) pool_->free(ptr_);
    pool_ = nullptr;
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  DevicePool* pool_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// allocate() wrapped in a PoolBuffer.
Result<PoolBuffer> allocate_buffer(DevicePool& pool, size_t bytes, void* stream);

// Host memory as the raw allocator (aligned to DevicePool::kAlignment): the pool's policy
// tests, and a CPU stand-in wherever a pool of scratch memory is wanted. `limit` caps the
// bytes it hands out at once, to exercise the pool's out-of-memory path.
class HostRawAllocator final : public RawDeviceAllocator {
 public:
  explicit HostRawAllocator(size_t limit = SIZE_MAX) : limit_(limit) {}
  void* allocate(size_t bytes) override;
  void release(void* ptr, size_t bytes) override;
  std::string describe() const override { return "host memory"; }
  size_t outstanding() const { return outstanding_; }

 private:
  size_t limit_;
  size_t outstanding_ = 0;
};

}  // namespace dsv4
