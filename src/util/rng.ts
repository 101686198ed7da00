/**
 * The counter-based RNG of native/core/rng.h, ported bit for bit to TypeScript (BigInt),
 * so that seeded choices made in TypeScript (data subsets, generated data) are the same
 * numbers the C++ core would draw:
 *
 *   splitmix64(x): x += 0x9E3779B97F4A7C15; x = (x ^ x>>30)·0xBF58476D1CE4E5B9;
 *                  x = (x ^ x>>27)·0x94D049BB133111EB; return x ^ x>>31      (mod 2^64)
 *   bits(seed, stream, a, b) = splitmix64(k ^ a·0x9E3779B97F4A7C15 ^ splitmix64(b + 0x632BE59BD9B4E019)),
 *       k = splitmix64(seed ^ stream·0xD1B54A32D192ED03)
 *   uniform(seed, stream, a, b) = (bits >> 40) · 2^-24      in [0, 1), exact in float32
 *
 * A value is a pure function of its four counters: no state, no order dependence.
 * test/rng.test.ts pins values printed by a g++ build of rng.h.
 */
const M64 = (1n << 64n) - 1n;

/** The streams of rng.h (RngStream): independent uses of one seed. */
export const RngStream = {
  init: 1,
  dropout: 2,
  shuffle: 3,
  sleepInput: 4,
  sleepWindow: 5,
  attack: 6,
  distort: 7,
  data: 8,
} as const;

export type Counter = number | bigint;

function u64(v: Counter): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));
}

export function splitmix64(x: Counter): bigint {
  let z = (u64(x) + 0x9e3779b97f4a7c15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

/** 64 random bits for the counters (seed, stream, a, b). */
export function rngBits(seed: Counter, stream: Counter, a: Counter, b: Counter): bigint {
  const k = splitmix64(u64(seed) ^ ((u64(stream) * 0xd1b54a32d192ed03n) & M64));
  return splitmix64(k ^ ((u64(a) * 0x9e3779b97f4a7c15n) & M64) ^ splitmix64(u64(b) + 0x632be59bd9b4e019n));
}

/** Uniform in [0, 1) with 24 random bits: the same float as C++ rng_uniform. */
export function rngUniform(seed: Counter, stream: Counter, a: Counter, b: Counter): number {
  return Number(rngBits(seed, stream, a, b) >> 40n) / 16777216;
}

/** An integer uniform in [0, n) from 53 random bits (n ≤ 2^32; bias below 2^-20). */
export function rngInt(seed: Counter, stream: Counter, a: Counter, b: Counter, n: number): number {
  return Math.floor((Number(rngBits(seed, stream, a, b) >> 11n) / 9007199254740992) * n);
}

/**
 * A seeded permutation of 0 … n-1 (Fisher–Yates; draw i uses counters (seed, stream, a, i)).
 * `a` names the purpose, so two permutations of one seed differ when their `a` differ.
 */
export function permutation(n: number, seed: Counter, stream: Counter, a: Counter): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rngInt(seed, stream, a, i, i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
