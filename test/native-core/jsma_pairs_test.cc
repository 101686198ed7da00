// Stand-alone test of JSMA's pair search (native/core/jsma_pairs.h): the vectorised search
// against the scalar scan on random saliencies — many exact ties (values from a small grid),
// NaN, ±0 and ±inf, every domain size from 0 to 40 plus 784 — compared pair and score, bit
// for bit. Run by test/jsma-pairs.test.ts (and built with -O3 as the addon is).
// Prints "ok N checks"; exits 1 on the first mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "../../native/core/jsma_pairs.h"

using namespace nrem;

static uint64_t state = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32() {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<uint32_t>(state >> 32);
}

static float draw(int kind) {
  const uint32_t r = next_u32();
  switch (kind) {
    case 0:  // a small grid: many equal sums and products, so ties decide
      return static_cast<float>(static_cast<int>(r % 9) - 4) * 0.25f;
    case 1:  // gradients' spread of magnitudes
      return (static_cast<float>(r) / 4294967296.0f - 0.5f) * std::ldexp(1.0f, static_cast<int>(next_u32() % 40) - 30);
    default: {  // specials now and then
      const uint32_t s = r % 16;
      if (s == 0) return std::numeric_limits<float>::quiet_NaN();
      if (s == 1) return -0.0f;
      if (s == 2) return 0.0f;
      if (s == 3) return std::numeric_limits<float>::infinity();
      if (s == 4) return -std::numeric_limits<float>::infinity();
      return static_cast<float>(static_cast<int>(next_u32() % 7) - 3) * 0.5f;
    }
  }
}

int main() {
  int checks = 0, found = 0, ties = 0;
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 40; ++n) sizes.push_back(n);
  sizes.push_back(784);
  for (int kind = 0; kind < 3; ++kind)
    for (size_t nd : sizes)
      for (int rep = 0; rep < (nd > 100 ? 4 : 40); ++rep) {
        std::vector<float> ad(nd), bd(nd);
        for (size_t i = 0; i < nd; ++i) ad[i] = draw(kind), bd[i] = draw(kind);
        const JsmaPair s = jsma_best_pair_scalar(ad.data(), bd.data(), nd);
        const JsmaPair v = jsma_best_pair(ad, bd);
        ++checks;
        if (ad.size() != nd || bd.size() != nd) {
          std::fprintf(stderr, "FAIL: the inputs were not given back at their size %zu\n", nd);
          return 1;
        }
        const bool same = std::memcmp(&s.score, &v.score, sizeof(float)) == 0 && (s.score == 0.0f || (s.u == v.u && s.v == v.v));
        if (!same) {
          std::fprintf(stderr, "FAIL kind %d nd %zu rep %d: scalar (%g, %zu, %zu) vectorised (%g, %zu, %zu)\n", kind, nd, rep, s.score, s.u, s.v, v.score, v.u, v.v);
          return 1;
        }
        if (s.score > 0.0f) {
          ++found;
          // another pair with the same score earlier in (u, v) order than the one after it: a tie decided
          int equal = 0;
          for (size_t u = 0; u < nd; ++u)
            for (size_t w = u + 1; w < nd; ++w) {
              const float as = ad[u] + ad[w], bs = bd[u] + bd[w];
              if (as > 0.0f && bs < 0.0f && -as * bs == s.score) ++equal;
            }
          ties += equal > 1;
        }
      }
  std::printf("pairs: %d searches, %d with a pair, %d decided among tied pairs, all equal to the scalar scan\n", checks, found, ties);
  std::printf("ok %d checks\n", checks);
  return 0;
}
