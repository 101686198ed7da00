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
 *
 * rngUniform, rngInt and rngBits compute on 32-bit halves (exact integer arithmetic in
 * doubles), not BigInt: generating a data set draws millions of values, and the BigInt path
 * took seconds of a study's CPU (the patches data, once per seed in every worker process).
 * splitmix64 keeps the BigInt statement of the recipe; the test checks both agree.
 */
const M64 = (1n << 64n) - 1n;
const TWO32 = 4294967296;

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

// Results of the 64-bit operations below (high and low halves), in a typed array so that no
// draw allocates (a uint32 above 2^31 stored in a plain variable is a heap number).
const R = new Uint32Array(2);

/**
 * (ah·2^32 + al)·(bh·2^32 + bl) mod 2^64 into R = [high, low]. The low half is Math.imul's
 * (exact); the high half of al·bl comes from the double product, which is within 2^12 of the
 * exact one (< 2^64): (al·bl − low) / 2^32 is then within 10^-6 of an integer, and rounds to it.
 */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const lo = Math.imul(al, bl) >>> 0;
  R[1] = lo;
  R[0] = Math.round((al * bl - lo) / TWO32) + Math.imul(ah, bl) + Math.imul(al, bh);
}

/** splitmix64 of (h·2^32 + l) into R. */
function mix(h: number, l: number): void {
  let lo = l + 0x7f4a7c15;
  let hi = (h + 0x9e3779b9 + (lo >= TWO32 ? 1 : 0)) >>> 0;
  lo >>>= 0;
  mul64((hi ^ (hi >>> 30)) >>> 0, (lo ^ ((lo >>> 30) | (hi << 2))) >>> 0, 0xbf58476d, 0x1ce4e5b9);
  hi = R[0];
  lo = R[1];
  mul64((hi ^ (hi >>> 27)) >>> 0, (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0, 0x94d049bb, 0x133111eb);
  hi = R[0];
  lo = R[1];
  R[0] = hi ^ (hi >>> 31);
  R[1] = lo ^ ((lo >>> 31) | (hi << 1));
}

/** The halves of a counter as u64 (numbers: non-negative safe integers directly, else through BigInt). */
function hi32(v: Counter): number {
  if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) return Math.floor(v / TWO32);
  return Number(u64(v) >> 32n);
}
function lo32(v: Counter): number {
  if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) return v >>> 0;
  return Number(u64(v) & 0xffffffffn);
}

/** k = splitmix64(seed ^ stream·0xD1B54A32D192ED03) into R. */
function key(seed: Counter, stream: Counter): void {
  mul64(hi32(stream), lo32(stream), 0xd1b54a32, 0xd192ed03);
  mix((hi32(seed) ^ R[0]) >>> 0, (lo32(seed) ^ R[1]) >>> 0);
}

/** splitmix64(b + 0x632BE59BD9B4E019) into R. */
function column(b: Counter): void {
  const bl = lo32(b) + 0xd9b4e019;
  mix((hi32(b) + 0x632be59b + (bl >= TWO32 ? 1 : 0)) >>> 0, bl >>> 0);
}

/** rng_bits(seed, stream, a, b) into R. */
function bits(seed: Counter, stream: Counter, a: Counter, b: Counter): void {
  column(b);
  const ih = R[0], il = R[1];
  key(seed, stream);
  const kh = R[0], kl = R[1];
  mul64(hi32(a), lo32(a), 0x9e3779b9, 0x7f4a7c15);
  mix((kh ^ R[0] ^ ih) >>> 0, (kl ^ R[1] ^ il) >>> 0);
}

/** 64 random bits for the counters (seed, stream, a, b). */
export function rngBits(seed: Counter, stream: Counter, a: Counter, b: Counter): bigint {
  bits(seed, stream, a, b);
  return (BigInt(R[0]) << 32n) | BigInt(R[1]);
}

/** Uniform in [0, 1) with 24 random bits: the same float as C++ rng_uniform. */
export function rngUniform(seed: Counter, stream: Counter, a: Counter, b: Counter): number {
  bits(seed, stream, a, b);
  return (R[0] >>> 8) / 16777216;
}

/** An integer uniform in [0, n) from 53 random bits (n ≤ 2^32; bias below 2^-20). */
export function rngInt(seed: Counter, stream: Counter, a: Counter, b: Counter, n: number): number {
  bits(seed, stream, a, b);
  return Math.floor(((R[0] * 2097152 + (R[1] >>> 11)) / 9007199254740992) * n);
}

/**
 * rngUniform(seed, stream, a0 + i, j) for i < rows, j < cols, row-major (a0 + rows ≤ 2^53):
 * the same floats, with the parts of the recipe shared by a row or a column computed once.
 */
export function rngUniformRows(seed: Counter, stream: Counter, a0: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const inner = new Uint32Array(2 * cols); // splitmix64(b + C3) per column b
  for (let j = 0; j < cols; j++) {
    column(j);
    inner[2 * j] = R[0];
    inner[2 * j + 1] = R[1];
  }
  key(seed, stream);
  const kh = R[0], kl = R[1];
  for (let i = 0; i < rows; i++) {
    const a = a0 + i;
    mul64(Math.floor(a / TWO32), a >>> 0, 0x9e3779b9, 0x7f4a7c15);
    const xh = kh ^ R[0], xl = kl ^ R[1];
    for (let j = 0; j < cols; j++) {
      mix((xh ^ inner[2 * j]) >>> 0, (xl ^ inner[2 * j + 1]) >>> 0);
      out[i * cols + j] = (R[0] >>> 8) / 16777216;
    }
  }
  return out;
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
