/**
 * sgemm (OpenBLAS or the own kernel, as selected) and sgemm_native against a naive
 * double-precision triple loop, for every transpose combination, edge tiles, several
 * K blocks, strides wider than the rows, alpha and beta. Tolerance: 1e-5·(Σ|a·b| + |βc|)
 * per entry (float32 accumulation error bound for these sizes).
 */
import { describe, expect, it } from 'vitest';
import { addon } from '../../src/native/binding.js';
import { setThreads } from '../../src/index.js';
import { rand } from '../helpers/random.js';


interface Case {
  ta: boolean;
  tb: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  beta: number;
  pad: number;
}

function run(kernel: 'current' | 'native' | 'frozen', c: Case, seed: number) {
  const { ta, tb, M, N, K, alpha, beta, pad } = c;
  const [ar, ac] = ta ? [K, M] : [M, K];
  const [br, bc] = tb ? [N, K] : [K, N];
  const lda = ac + pad, ldb = bc + pad, ldc = N + pad;
  const A = rand(ar * lda, seed), B = rand(br * ldb, seed + 1), C0 = rand(M * ldc, seed + 2);
  const C = C0.slice();
  addon().gemm(kernel, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  const a = (i: number, k: number) => (ta ? A[k * lda + i] : A[i * lda + k]);
  const b = (k: number, j: number) => (tb ? B[j * ldb + k] : B[k * ldb + j]);
  let worst = 0;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0,
        mag = 0;
      for (let k = 0; k < K; k++) {
        s += a(i, k) * b(k, j);
        mag += Math.abs(a(i, k) * b(k, j));
      }
      const want = alpha * s + (beta === 0 ? 0 : beta * C0[i * ldc + j]);
      const tol = 1e-5 * (Math.abs(alpha) * mag + Math.abs(beta * C0[i * ldc + j])) + 1e-6;
      worst = Math.max(worst, Math.abs(C[i * ldc + j] - want) / tol);
    }
  // padding columns of C are never written
  for (let i = 0; i < M; i++) for (let j = N; j < ldc; j++) expect(C[i * ldc + j]).toBe(C0[i * ldc + j]);
  return { worst, C };
}

const cases: Case[] = [];
for (const ta of [false, true])
  for (const tb of [false, true]) {
    cases.push({ ta, tb, M: 13, N: 37, K: 300, alpha: 1, beta: 0, pad: 0 });
    cases.push({ ta, tb, M: 33, N: 70, K: 17, alpha: -0.5, beta: 0.75, pad: 3 });
    cases.push({ ta, tb, M: 1, N: 1, K: 1, alpha: 2, beta: 1, pad: 0 });
  }
cases.push({ ta: false, tb: true, M: 5, N: 2100, K: 9, alpha: 1, beta: 1, pad: 1 }); // more than one column block

describe('gemm against a naive triple loop', () => {
  for (const kernel of ['native', 'current'] as const)
    for (const c of cases)
      it(`${kernel} ${c.ta ? 'T' : 'N'}${c.tb ? 'T' : 'N'} ${c.M}×${c.N}×${c.K} α=${c.alpha} β=${c.beta} pad=${c.pad}`, () => {
        expect(run(kernel, c, 7).worst).toBeLessThanOrEqual(1);
      });

  it('K = 0 scales C by beta only; M = 0 touches nothing', () => {
    const C = new Float32Array([1, 2, 3, 4]);
    addon().gemm('native', false, false, 2, 2, 0, 1, new Float32Array(0), 0, new Float32Array(0), 2, 0.5, C, 2);
    expect(Array.from(C)).toEqual([0.5, 1, 1.5, 2]);
  });

  it('the own kernel gives bit-identical results for 1 and 2 threads', () => {
    const c: Case = { ta: true, tb: false, M: 70, N: 90, K: 600, alpha: 1, beta: 0.5, pad: 2 };
    try {
      setThreads(1);
      const one = run('native', c, 3).C;
      setThreads(2);
      const two = run('native', c, 3).C;
      expect(Buffer.from(one.buffer).equals(Buffer.from(two.buffer))).toBe(true);
    } finally {
      setThreads('auto');
    }
  });

  // A frozen B (an attack's weights, gemm.h FrozenOperand): its panels packed once and reused
  // give the bits of packing per call, in both schedules (a mini-batch of few rows: shared A;
  // many rows: shared B), several K blocks and column groups; with a row stride wider than
  // the registered rows, the call packs as usual (pad 3).
  it('a frozen B gives the bits of the plain own kernel (panels packed once, then reused)', () => {
    const frozenCases: Case[] = [
      { ta: false, tb: true, M: 9, N: 1200, K: 784, alpha: 1, beta: 1, pad: 0 },
      { ta: false, tb: false, M: 9, N: 784, K: 1200, alpha: 1, beta: 0, pad: 0 },
      { ta: false, tb: true, M: 700, N: 130, K: 900, alpha: 0.5, beta: 0.25, pad: 0 },
      { ta: true, tb: false, M: 33, N: 70, K: 17, alpha: -0.5, beta: 0.75, pad: 3 },
    ];
    for (const [i, c] of frozenCases.entries()) {
      const plain = run('native', c, 11 + i).C;
      const frozen = run('frozen', c, 11 + i);
      expect(frozen.worst, `case ${i}`).toBeLessThanOrEqual(1);
      expect(Buffer.from(frozen.C.buffer).equals(Buffer.from(plain.buffer)), `case ${i}`).toBe(true);
    }
  });

  it('rejects arrays shorter than their dimensions', () => {
    expect(() => addon().gemm('native', false, false, 2, 2, 2, 1, new Float32Array(3), 2, new Float32Array(4), 2, 0, new Float32Array(4), 2)).toThrow(
      /shorter/,
    );
  });
});
