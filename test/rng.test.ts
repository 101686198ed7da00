import { describe, expect, it } from 'vitest';
import { permutation, rngBits, rngUniform, splitmix64 } from '../src/util/rng.js';

// Printed by a g++ -std=c++17 build of native/core/rng.h (rng_bits / rng_uniform / splitmix64).
const GOLDEN: [bigint, number, number, number, bigint, number][] = [
  [0n, 0, 0, 0, 17448420733077208847n, 0.945880771],
  [1n, 8, 0, 0, 1236965171149573765n, 0.0670560002],
  [1n, 8, 1, 0, 11508035990741840006n, 0.623851836],
  [1n, 8, 0, 1, 11293618391141587781n, 0.612228274],
  [42n, 1, 123, 456, 4215697501840592911n, 0.228533387],
  [0xffffffffffffffffn, 7, 99999, 3, 17095807835430456454n, 0.926765561],
  [12345678901234n, 8, 5, 0, 7455202496522816077n, 0.404147327],
];

describe('counter-based RNG (port of native/core/rng.h)', () => {
  it('draws the same bits and floats as the C++ header', () => {
    expect(splitmix64(0)).toBe(16294208416658607535n);
    expect(splitmix64(1)).toBe(10451216379200822465n);
    for (const [seed, stream, a, b, bits, u] of GOLDEN) {
      expect(rngBits(seed, stream, a, b)).toBe(bits);
      const v = rngUniform(seed, stream, a, b);
      expect(Math.fround(v)).toBe(v); // exactly a float32
      expect(v).toBeCloseTo(u, 8);
    }
  });

  it('permutations are seeded, complete and differ by purpose', () => {
    const p = permutation(1000, 7, 8, 1);
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(permutation(1000, 7, 8, 1))).toEqual(Array.from(p));
    expect(Array.from(permutation(1000, 7, 8, 2))).not.toEqual(Array.from(p));
    expect(Array.from(permutation(1000, 8, 8, 1))).not.toEqual(Array.from(p));
  });
});
