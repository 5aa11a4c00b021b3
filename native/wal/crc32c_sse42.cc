// The only translation unit built with -msse4.2: Crc32c() calls into it only after cpuid says the
// CPU has SSE4.2, so the rest of the core stays runnable on any x86-64.
#include <cstring>

#include "crc32c.h"

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace powercut::wal::detail {

uint32_t Crc32cSse42(uint32_t crc, const void* data, size_t len) {
#if defined(__SSE4_2__) && defined(__x86_64__)
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    len -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (len-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
#else
  return Crc32cPortable(crc, data, len);
#endif
}

}  // namespace powercut::wal::detail
