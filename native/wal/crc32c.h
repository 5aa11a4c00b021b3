// CRC-32C (Castagnoli). Hardware (SSE4.2) when the CPU has it, checked once at run time with
// cpuid; a portable slicing-by-8 table otherwise. Thread-safe, no state beyond the dispatch.
#pragma once

#include <cstddef>
#include <cstdint>

namespace powercut::wal {

// Extends a running crc (start with 0) over `len` bytes.
uint32_t Crc32c(uint32_t crc, const void* data, size_t len);

// Which implementation Crc32c dispatches to: "sse4.2" or "portable".
const char* Crc32cImplementation();

namespace detail {
uint32_t Crc32cPortable(uint32_t crc, const void* data, size_t len);
// Defined in crc32c_sse42.cc, the only file compiled with -msse4.2.
uint32_t Crc32cSse42(uint32_t crc, const void* data, size_t len);
}  // namespace detail

}  // namespace powercut::wal
