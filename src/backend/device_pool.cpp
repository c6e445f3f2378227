// The caching device allocator (see device_pool.h).
#include "backend/device_pool.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/check.h"

namespace dsv4 {

namespace {

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// "1024 B" below a MiB, "3.5 MiB" from there on.
std::string mib(size_t bytes) {
  if (bytes < 1024 * 1024) return std::to_string(bytes) + " B";
  const double m = static_cast<double>(bytes) / (1024.0 * 1024.0);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", m);
  return buf;
}

}  // namespace

// One contiguous range of a segment; the blocks of a segment form a doubly linked list in
// address order, so a freed block finds its neighbours in O(1).
struct DevicePool::Block {
  uintptr_t addr = 0;
  size_t size = 0;
  void* stream = nullptr;
  bool allocated = false;
  Block* prev = nullptr;  // in the same segment
  Block* next = nullptr;
  size_t segment_size = 0;  // on the segment's first block only
};

bool DevicePool::BySize::operator()(const Block* a, const Block* b) const {
  return a->size != b->size ? a->size < b->size : a->addr < b->addr;
}

DevicePool::DevicePool(RawDeviceAllocator& raw, DevicePoolOptions options) : raw_(raw), options_(options) {}

DevicePool::~DevicePool() {
  for (auto& [addr, head] : segments_) {
    const size_t bytes = head->segment_size;
    for (Block* b = head; b != nullptr;) {
      Block* next = b->next;
      delete b;
      b = next;
    }
    raw_.release(reinterpret_cast<void*>(addr), bytes);
  }
}

Result<void*> DevicePool::allocate(size_t bytes, void* stream) {
  if (bytes == 0) return static_cast<void*>(nullptr);
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes > SIZE_MAX - kSegmentGranule) {
    ++stats_.n_failures;
    return resource_exhausted("a device allocation of " + std::to_string(bytes) + " bytes is impossibly large");
  }
  const size_t size = round_up(bytes, kAlignment);
  Block* b = take_free(size, stream);
  if (b == nullptr) b = new_segment(size, stream);
  if (b == nullptr) {
    release_free_segments();
    b = new_segment(size, stream);
  }
  if (b == nullptr) {
    ++stats_.n_failures;
    return resource_exhausted(exhausted_message(bytes));
  }
  if (b->size - size >= kAlignment) {
    Block* rest = split(b, size);
    free_[stream].insert(rest);
  }
  b->allocated = true;
  in_use_[b->addr] = b;
  stats_.allocated_bytes += b->size;
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  ++stats_.n_requests;
  return reinterpret_cast<void*>(b->addr);
}

void DevicePool::free(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = in_use_.find(reinterpret_cast<uintptr_t>(ptr));
  DSV4_CHECK_MSG(it != in_use_.end(), "DevicePool::free of a pointer the pool did not hand out");
  Block* b = it->second;
  in_use_.erase(it);
  b->allocated = false;
  stats_.allocated_bytes -= b->size;
  n_frees_.fetch_add(1, std::memory_order_relaxed);
  merge_into_free(b);
}

void DevicePool::release_cached() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_free_segments();
}

DevicePoolStats DevicePool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  DevicePoolStats out = stats_;
  out.n_frees = static_cast<int64_t>(n_frees());
  return out;
}

DevicePool::Block* DevicePool::take_free(size_t size, void* stream) {
  auto pool = free_.find(stream);
  if (pool == free_.end()) return nullptr;
  Block probe;
  probe.size = size;
  probe.addr = 0;
  auto it = pool->second.lower_bound(&probe);
  if (it == pool->second.end()) return nullptr;
  Block* b = *it;
  pool->second.erase(it);
  return b;
}

DevicePool::Block* DevicePool::new_segment(size_t size, void* stream) {
  const size_t bytes = round_up(size, kSegmentGranule);
  if (bytes > options_.max_reserved_bytes || stats_.reserved_bytes > options_.max_reserved_bytes - bytes) return nullptr;
  void* p = raw_.allocate(bytes);
  if (p == nullptr) return nullptr;
  auto* b = new Block;
  b->addr = reinterpret_cast<uintptr_t>(p);
  b->size = bytes;
  b->stream = stream;
  b->segment_size = bytes;
  segments_[b->addr] = b;
  stats_.reserved_bytes += bytes;
  stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
  ++stats_.n_segment_allocs;
  return b;
}

// b keeps its first `size` bytes; the returned block is the free rest.
DevicePool::Block* DevicePool::split(Block* b, size_t size) {
  auto* rest = new Block;
  rest->addr = b->addr + size;
  rest->size = b->size - size;
  rest->stream = b->stream;
  rest->prev = b;
  rest->next = b->next;
  if (b->next != nullptr) b->next->prev = rest;
  b->next = rest;
  b->size = size;
  return rest;
}

// `right` (b->next of `left`, in no free set) becomes part of `left`.
void DevicePool::absorb(Block* left, Block* right) {
  left->size += right->size;
  left->next = right->next;
  if (right->next != nullptr) right->next->prev = left;
  delete right;
}

void DevicePool::merge_into_free(Block* b) {
  FreeSet& pool = free_[b->stream];
  if (b->next != nullptr && !b->next->allocated) {
    pool.erase(b->next);
    absorb(b, b->next);
  }
  if (b->prev != nullptr && !b->prev->allocated) {
    Block* p = b->prev;
    pool.erase(p);  // its size, the set's key, is about to change
    absorb(p, b);
    b = p;
  }
  pool.insert(b);
}

void DevicePool::release_free_segments() {
  std::vector<uintptr_t> gone;
  for (auto& [addr, head] : segments_) {
    if (head->allocated || head->next != nullptr) continue;  // a wholly free segment is one free block
    free_[head->stream].erase(head);
    raw_.release(reinterpret_cast<void*>(addr), head->segment_size);
    stats_.reserved_bytes -= head->segment_size;
    ++stats_.n_segment_releases;
    delete head;
    gone.push_back(addr);
  }
  for (uintptr_t a : gone) segments_.erase(a);
}

std::string DevicePool::exhausted_message(size_t bytes) const {
  std::string m = "out of device memory: could not allocate " + mib(bytes) + " from " + raw_.describe() + " (the pool holds " +
                  mib(stats_.reserved_bytes) + ", " + mib(stats_.allocated_bytes) + " of it in use";
  if (options_.max_reserved_bytes != SIZE_MAX) m += ", budget " + mib(options_.max_reserved_bytes);
  return m + "); lower --max-num-batched-tokens, --max-num-seqs or --kv-cache-memory, or use a GPU with more memory";
}

Result<PoolBuffer> allocate_buffer(DevicePool& pool, size_t bytes, void* stream) {
  Result<void*> p = pool.allocate(bytes, stream);
  if (!p.is_ok()) return p.status();
  return PoolBuffer(&pool, *p, bytes);
}

void* HostRawAllocator::allocate(size_t bytes) {
  if (bytes > limit_ || outstanding_ > limit_ - bytes) return nullptr;
  void* p = std::aligned_alloc(DevicePool::kAlignment, bytes);
  if (p != nullptr) outstanding_ += bytes;
  return p;
}

void HostRawAllocator::release(void* ptr, size_t bytes) {
  std::free(ptr);
  outstanding_ -= bytes;
}

}  // namespace dsv4
