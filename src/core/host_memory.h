// The host's memory as a device would report its own: a size to refuse requests against.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dsv4 {

// Physical memory of the host in bytes (SIZE_MAX when the system does not say). Backends whose
// "device" memory is host memory refuse a request beyond it with a status, as cudaMalloc
// refuses one beyond the GPU's memory, instead of handing an absurd size to the host
// allocator (which, under AddressSanitizer, aborts rather than returning null).
size_t host_physical_memory_bytes();

// MemAvailable from /proc/meminfo, in bytes (0 when unknown): what the host can still give
// without swapping.
int64_t available_memory_bytes();

// `bytes` bytes of zeroed host memory aligned to `alignment` (a power of two), or null when
// the request exceeds host_physical_memory_bytes() or the allocator refuses it. Free with
// std::free.
void* allocate_zeroed_host(size_t bytes, size_t alignment);

}  // namespace dsv4
