import { describe, expect, it } from 'vitest';
import { permutation, rngBits, rngInt, rngUniform, rngUniformRows, splitmix64 } from '../src/util/rng.js';

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

  it('the 32-bit-halves arithmetic equals the BigInt recipe (splitmix64) on 20,000 counters of every size', () => {
    const M = (1n << 64n) - 1n;
    const ref = (seed: bigint, stream: bigint, a: bigint, b: bigint) => {
      const k = splitmix64((seed & M) ^ ((stream * 0xd1b54a32d192ed03n) & M));
      return splitmix64(k ^ ((a * 0x9e3779b97f4a7c15n) & M) ^ splitmix64((b + 0x632be59bd9b4e019n) & M));
    };
    let x = 0x1234567n;
    const next = (bitsWide: bigint) => ((x = splitmix64(x)) & ((1n << bitsWide) - 1n));
    for (let i = 0; i < 20_000; i++) {
      const w = [8n, 32n, 33n, 53n, 64n][i % 5];
      const c = [next(w), next(i % 3 ? 32n : 64n), next(w), next(i % 2 ? 53n : 20n)];
      const want = ref(c[0], c[1], c[2], c[3]);
      // as bigints, and as numbers where they are safe integers
      const asNum = c.map((v) => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v));
      for (const args of [c, asNum] as const) {
        expect(rngBits(args[0], args[1], args[2], args[3])).toBe(want);
        expect(rngUniform(args[0], args[1], args[2], args[3])).toBe(Number(want >> 40n) / 16777216);
        expect(rngInt(args[0], args[1], args[2], args[3], 1000)).toBe(Math.floor((Number(want >> 11n) / 9007199254740992) * 1000));
      }
    }
    // the extremes of the halves (products nearest 2^64)
    for (const v of [M, (1n << 32n) - 1n, 1n << 32n, (1n << 63n) + 1n, 0n])
      for (const u of [M, (1n << 32n) - 1n, 0n]) expect(rngBits(v, u, v, u)).toBe(ref(v, u, v, u));
    // negative numbers are taken mod 2^64, as BigInt.asUintN does
    expect(rngBits(-1, 8, -5, 3)).toBe(ref(M, 8n, (1n << 64n) - 5n, 3n));
  });

  it('rngUniformRows draws what rngUniform draws, row by row', () => {
    for (const [seed, a0] of [[1, 0], [7, 2 ** 46 + 3], [2 ** 40 + 9, 2 ** 33 - 2]] as const) {
      const u = rngUniformRows(seed, 8, a0, 7, 300);
      for (let i = 0; i < 7; i++) for (let j = 0; j < 300; j++) expect(u[i * 300 + j]).toBe(rngUniform(seed, 8, a0 + i, j));
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
