#include "crc32c.h"

#include <array>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace powercut::wal {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

struct Tables {
  uint32_t t[8][256];
  constexpr Tables() : t{} {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
      for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
  }
};
constexpr Tables kTables;

bool HasSse42() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_SSE4_2) != 0;
#else
  return false;
#endif
}

using Fn = uint32_t (*)(uint32_t, const void*, size_t);

Fn Choose() {
#if defined(__x86_64__) || defined(__i386__)
  // POWERCUT_CRC32C=portable forces the fallback so tests can prove both give the same answers.
  const char* force = std::getenv("POWERCUT_CRC32C");
  if (force != nullptr && std::strcmp(force, "portable") == 0) return detail::Crc32cPortable;
  if (HasSse42()) return detail::Crc32cSse42;
#endif
  return detail::Crc32cPortable;
}

const Fn kImpl = Choose();

}  // namespace

namespace detail {
uint32_t Crc32cPortable(uint32_t crc, const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  const auto& t = kTables.t;
  crc = ~crc;
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    v ^= crc;
    crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
          t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
    p += 8;
    len -= 8;
  }
  while (len-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return ~crc;
}
}  // namespace detail

uint32_t Crc32c(uint32_t crc, const void* data, size_t len) { return kImpl(crc, data, len); }

const char* Crc32cImplementation() { return kImpl == detail::Crc32cPortable ? "portable" : "sse4.2"; }

}  // namespace powercut::wal
