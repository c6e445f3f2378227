#include "core/host_memory.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace dsv4 {

size_t host_physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return SIZE_MAX;
  return static_cast<size_t>(pages) * static_cast<size_t>(page);
}

int64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t value = 0;
  while (in >> key >> value >> unit)
    if (key == "MemAvailable:") return value * 1024;
  return 0;
}

void* allocate_zeroed_host(size_t bytes, size_t alignment) {
  if (bytes > host_physical_memory_bytes()) return nullptr;
  // aligned_alloc wants a multiple of the alignment; an empty request still gets an address.
  const size_t n = std::max<size_t>(1, (bytes + alignment - 1) / alignment) * alignment;
  void* p = std::aligned_alloc(alignment, n);
  if (p != nullptr) std::memset(p, 0, n);
  return p;
}

}  // namespace dsv4
