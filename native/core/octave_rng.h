// The authors' random streams: GNU Octave's generator, so that a network trained by nrem
// with `rng: "octave"` draws exactly the numbers that the authors' MATLAB/Octave scripts
// draw after `rand('state', seed)` (their initialisation, mini-batch order and dropout
// masks), instead of nrem's counter-based ones (rng.h).
//
//   generator:  MT19937 (Matsumoto & Nishimura), seeded by init_by_array with the key
//               { seed mod (2^32 − 1) } — Octave's rand('state', s) for a scalar s
//   rand():     a = u32 >> 5, b = u32 >> 6, (a·2^26 + b) / 2^53, redrawn if a = b = 0
//               (53-bit doubles in (0, 1); Octave's randu53)
//   rand(r, c): r·c draws in column-major order
//   randperm(n): n draws u_0..u_(n−1), then for i = 0..n−1 swap(p[i], p[i + ⌊u_i·(n − i)⌋])
//               (Octave's Knuth shuffle; 0-based here)
//
// Measured against Octave 7.3 (the version of the reference runs): rand('state', 1) gives
// 0.13436424411240122, 0.84743373693723267, …; randperm(10) after it 2 9 1 5 7 8 3 10 4 6
// (test/octave-rng.test.ts). The stream is sequential: it is drawn on one thread, so it
// does not depend on the thread count either.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nrem {

class OctaveRandom {
 public:
  explicit OctaveRandom(uint64_t seed);

  uint32_t next_u32();
  // Octave's rand(): a double in (0, 1) with 53 random bits.
  double uniform();
  // Draws and drops `count` values of uniform().
  void skip_uniform(size_t count);
  // perm[0..n) = Octave's randperm(n) − 1.
  void randperm(uint32_t* perm, size_t n);

 private:
  static constexpr int kN = 624;
  void reload();
  uint32_t mt_[kN];
  int index_ = kN;
};

}  // namespace nrem
