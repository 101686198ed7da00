/**
 * Runtime CPU dispatch (native/core/cpu.h): every path this CPU runs gives the results the
 * kernels' headers promise.
 *   - GEMM: the kernel of every path (generic, avx2, avx512) equals, bit for bit, an exact
 *     chain of fused multiply-adds over k in ascending order computed here in float64 with
 *     round-to-odd (so also each other; isa-bits.test.ts checks whole forward passes,
 *     training and sleep across paths).
 *   - Sleep: the event engine on every path gives the same spikes, weights and membranes
 *     as on the generic path (MNIST on the fixture's control network).
 *   - Training: same weights for 1 and 2 threads on every path; generic = avx2 = avx512.
 *   - NREM_ISA naming a path this CPU (or build) cannot run is a clear error at load, not
 *     a crash; an unknown name is ERR_VALUE.
 * Tests of a path the CPU lacks are skipped with that reason (CI machines are sometimes
 * AVX-512 Xeons, where they run).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { addon } from '../../src/native/binding.js';
import { Network, createNetwork, inputGradient, loadOnnx, recipeOptions, runtimeInfo, setGemm, setGemmKernel, setIsa, setThreads, sleep, train } from '../../src/index.js';
import { loadMnist } from '../../src/data/mnist.js';
import { head } from '../../src/data/dataset.js';
import { BackendError } from '../../src/errors.js';
import { controlNetwork, manifest } from '../helpers/authors-fixture.js';
import { rand } from '../helpers/random.js';

const info = runtimeInfo();
const start = info.isa.name;
const supported = info.isa.supported;
const has = (isa: 'avx2' | 'avx512') => supported.includes(isa);
const NO = { avx2: 'skipped: this CPU has no AVX2+FMA', avx512: 'skipped: this CPU has no AVX-512' } as const;

afterAll(() => {
  setGemmKernel('auto');
  setIsa(start);
  setThreads('auto');
});


// fl(a·b + c) with one rounding, a, b, c float32: a·b is exact in float64; the sum is
// rounded to odd (exact sum = s + e by TwoSum; an inexact s is moved to its odd neighbour
// towards the exact value), which then rounds correctly to float32 (53 >= 24 + 2 bits).
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  if (!Number.isFinite(s)) return Math.fround(s);
  const bb = s - p;
  const e = p - (s - bb) + (c - bb);
  if (e === 0) return Math.fround(s);
  f64[0] = s;
  if ((u64[0] & 1n) === 0n) u64[0] += (e > 0) === (s > 0) ? 1n : -1n;
  return Math.fround(f64[0]);
}

interface Case {
  ta: boolean;
  tb: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  beta: number;
}

function gemmCase(c: Case) {
  const { ta, tb, M, N, K, alpha, beta } = c;
  const lda = ta ? M : K, ldb = tb ? K : N;
  const A = rand(M * K, 3), B = rand(K * N, 4), C0 = rand(M * N, 5);
  const C = C0.slice();
  addon().gemm('native', ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
  const want = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let acc = beta === 0 ? 0 : beta === 1 ? C0[i * N + j] : Math.fround(beta * C0[i * N + j]);
      for (let k = 0; k < K; k++) {
        const a = Math.fround(alpha * (ta ? A[k * lda + i] : A[i * lda + k]));
        const b = tb ? B[j * ldb + k] : B[k * ldb + j];
        acc = fmaf(a, b, acc);
      }
      want[i * N + j] = acc;
    }
  return { got: C, want };
}

const cases: Case[] = [
  { ta: false, tb: true, M: 29, N: 70, K: 300, alpha: 1, beta: 0 }, // edge tiles, several K blocks
  { ta: true, tb: false, M: 40, N: 33, K: 100, alpha: -0.5, beta: 0.75 },
  { ta: false, tb: false, M: 7, N: 130, K: 450, alpha: 1, beta: 1 },
];

function firstDiff(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe('GEMM kernel of each path: the exact chain its header states', () => {
  // avx512 runs its own 12x32 kernel here whatever the CPU rule chooses (setGemmKernel)
  for (const isa of ['generic', 'avx2', 'avx512'] as const)
    for (const c of cases)
      it(`${isa} ${c.ta ? 'T' : 'N'}${c.tb ? 'T' : 'N'} ${c.M}×${c.N}×${c.K} α=${c.alpha} β=${c.beta}`, (ctx) => {
        if (isa !== 'generic') ctx.skip(!has(isa), NO[isa]);
        setIsa(isa);
        setGemm('native');
        setGemmKernel(isa === 'avx512' ? 'avx512' : 'auto');
        try {
          expect(runtimeInfo().isa.gemmKernel).toMatch(new RegExp(`^${isa} `));
          const { got, want } = gemmCase(c);
          expect(firstDiff(got, want)).toBe(-1);
        } finally {
          setGemmKernel('auto');
        }
      });

  it('the avx512 path picks its GEMM kernel by the CPU rule (AVX2 6x16 on AMD Zen 4), says why, and can be set', (ctx) => {
    ctx.skip(!has('avx512'), NO.avx512);
    setIsa('avx512');
    const i = runtimeInfo().isa;
    const halfWidth = i.vendor === 'AuthenticAMD' && i.family === 0x19;
    expect(i.gemmKernel).toBe(halfWidth ? 'avx2 6x16 (fma)' : 'avx512 12x32 (fma)');
    expect(i.gemmKernelReason).toMatch(halfWidth ? /^auto: this CPU \(AMD family 19h, Zen 4\)/ : /^auto: the avx512 path's own kernel/);
    setGemmKernel(halfWidth ? 'avx512' : 'avx2');
    expect(runtimeInfo().isa.gemmKernel).toBe(halfWidth ? 'avx512 12x32 (fma)' : 'avx2 6x16 (fma)');
    expect(runtimeInfo().isa.gemmKernelReason).toMatch(/^set at run time \(setGemmKernel\('avx(512|2)'\)\)/);
    // the other paths keep their own kernel, and come back to the choice
    setIsa('avx2');
    expect(runtimeInfo().isa.gemmKernel).toBe('avx2 6x16 (fma)');
    expect(runtimeInfo().isa.gemmKernelReason).toBe("the avx2 path's own kernel");
    setIsa('avx512');
    expect(runtimeInfo().isa.gemmKernel).toBe(halfWidth ? 'avx512 12x32 (fma)' : 'avx2 6x16 (fma)');
    setGemmKernel('auto');
    expect(runtimeInfo().isa.gemmKernel).toBe(i.gemmKernel);
    expect(() => setGemmKernel('sse' as never)).toThrow(/Expected one of auto, avx512, avx2 for gemmKernel/);
    expect(() => addon().setGemmKernel('sse' as never)).toThrow(/Unknown GEMM kernel 'sse'/);
  });

  it('bit-identical for 1 and 2 threads on every path (a mini-batch and a large block)', () => {
    for (const isa of supported) {
      setIsa(isa);
      for (const [M, N, K] of [[100, 300, 200], [700, 90, 130]]) {
        const A = rand(M * K, 1), B = rand(N * K, 2);
        const out = [1, 2].map((t) => {
          setThreads(t);
          const C = new Float32Array(M * N);
          addon().gemm('native', false, true, M, N, K, 1, A, K, B, K, 0, C, N);
          return C;
        });
        expect(firstDiff(out[0], out[1]), `${isa} ${M}×${N}×${K}`).toBe(-1);
      }
    }
    setThreads('auto');
  });
});

describe('direct conv kernel of each path: the exact chain its header states', () => {
  // z[o,y,x] = fl(chain + b[o]), the chain over t = (c·k + i)·k + j from 0 (zeros of the
  // padding included), one rounding per term (a fused multiply-add) on every path. Two
  // geometries: conv 5×3×3 on 2×7×9, padding (top 1, left 0, bottom 1, right 2), 6 images
  // (rows of a full and a 1-column segment); conv 13×2×2 on 3×6×9, 4 images (5 segments an
  // image: the avx512 kernel's odd last segment, and 8 + 5 channels: both tile heights).
  const geometries = [
    { C: 2, H: 7, W: 9, O: 5, k: 3, pad: [1, 0, 1, 2] as [number, number, number, number], n: 6 },
    { C: 3, H: 6, W: 9, O: 13, k: 2, pad: [0, 0, 0, 0] as [number, number, number, number], n: 4 },
  ];
  function expected(net: Network, x: Float32Array, g: (typeof geometries)[number]): Float32Array {
    const { C, H, W, O, k, n } = g, [pt, pl, pb, pr] = g.pad;
    const Ho = H + pt + pb - k + 1, Wo = W + pl + pr - k + 1;
    const p = net.parameters();
    const w = p.weights[0], b = p.biases[0]!;
    const out = new Float32Array(n * O * Ho * Wo);
    for (let r = 0; r < n; r++)
      for (let o = 0; o < O; o++)
        for (let y = 0; y < Ho; y++)
          for (let xo = 0; xo < Wo; xo++) {
            let acc = 0;
            for (let c = 0; c < C; c++)
              for (let i = 0; i < k; i++)
                for (let j = 0; j < k; j++) {
                  const u = y + i - pt, v = xo + j - pl;
                  const xv = u >= 0 && u < H && v >= 0 && v < W ? x[r * C * H * W + (c * H + u) * W + v] : 0;
                  const wv = w[((o * C + c) * k + i) * k + j];
                  acc = fmaf(wv, xv, acc);
                }
            out[((r * O + o) * Ho + y) * Wo + xo] = Math.fround(acc + b[o]);
          }
    return out;
  }
  for (const isa of ['generic', 'avx2', 'avx512'] as const)
    it(`${isa}`, async (ctx) => {
      if (isa !== 'generic') ctx.skip(!has(isa), NO[isa]);
      setIsa(isa);
      for (const g of geometries) {
        const net = new Network({ input: [g.C, g.H, g.W], layers: [{ type: 'conv', filters: g.O, kernel: g.k, padding: g.pad }], output: 'linear', biases: true });
        const p = net.parameters();
        p.weights[0].set(rand(p.weights[0].length, 7).map((v) => v - 0.5));
        p.biases[0]!.set(rand(g.O, 8));
        net.setParameters(p);
        const x = rand(g.n * g.C * g.H * g.W, 9);
        expect(firstDiff(await net.forward(x), expected(net, x, g))).toBe(-1);
      }
    });
});

describe('conv + ReLU + 2×2 max-pool in the kernel on each path: the layer-by-layer bits', () => {
  // Where the path's kernel pools in its registers (conv_kernels.h: avx512 every layer, the
  // 8-wide kernels layers of few taps), the fused forward must give the bits of the
  // layer-by-layer pass (activations() writes the conv's output out and pools it separately):
  // LeNet's first conv (full 8-column segments), a padded one with a 6-column last segment,
  // a 1×1 one with a 4-column segment, and LeNet's second conv (fused on avx512 only).
  const shapes: { input: [number, number, number]; filters: number; kernel: number; padding?: [number, number, number, number] }[] = [
    { input: [1, 28, 28], filters: 16, kernel: 5 },
    { input: [3, 11, 13], filters: 5, kernel: 3, padding: [1, 2, 0, 1] },
    { input: [4, 6, 12], filters: 3, kernel: 1 },
    { input: [16, 12, 12], filters: 32, kernel: 5 },
  ];
  for (const isa of ['generic', 'avx2', 'avx512'] as const)
    it(`${isa}`, async (ctx) => {
      if (isa !== 'generic') ctx.skip(!has(isa), NO[isa]);
      setIsa(isa);
      for (const [k, sh] of shapes.entries()) {
        const net = new Network({
          input: sh.input,
          layers: [{ type: 'conv', filters: sh.filters, kernel: sh.kernel, padding: sh.padding }, { type: 'relu' }, { type: 'maxpool', kernel: 2, stride: 2 }, { type: 'flatten' }, { type: 'dense', units: 3 }],
          output: 'linear',
          biases: true,
        });
        const p = net.parameters();
        p.weights.forEach((w, i) => w.set(rand(w.length, 30 + 2 * i + 10 * k).map((v) => v - 0.5)));
        p.biases.forEach((b, i) => b?.set(rand(b.length, 31 + 2 * i + 10 * k).map((v) => v - 0.5)));
        net.setParameters(p);
        const x = rand(7 * net.inputSize, 32 + k);
        const fused = await net.forward(x);
        const acts = await net.activations(x);
        const layered = acts[acts.length - 1];
        expect(fused.some((v) => v !== 0), `shape ${k}`).toBe(true);
        expect(Buffer.from(fused.buffer).equals(Buffer.from(layered.buffer, layered.byteOffset, layered.byteLength)), `shape ${k}`).toBe(true);
      }
    });
});

describe('2×2 pooling kernels of each path: the scalar rule, bit for bit', () => {
  // Rows 20 and 8 columns wide (10 and 4 outputs: the 8-wide step, the 4-wide step and the
  // scalar tail), values with ties, −0 and +0 in one window, and ordinary values.
  function input(n: number): Float32Array {
    const x = rand(n, 21).map((v) => Math.round(v * 8) / 4 - 1);
    for (let i = 0; i < n; i += 7) x[i] = -0;
    for (let i = 3; i < n; i += 11) x[i] = 0;
    return x;
  }
  for (const isa of ['avx2', 'avx512'] as const)
    it(`${isa} = generic (max and avg)`, async (ctx) => {
      ctx.skip(!has(isa), NO[isa]);
      for (const shape of [[2, 6, 20], [3, 4, 8]] as [number, number, number][])
        for (const type of ['maxpool', 'avgpool'] as const) {
          const net = new Network({ input: shape, layers: [{ type, kernel: 2, stride: 2 }], output: 'linear' });
          const x = input(5 * net.inputSize);
          setIsa('generic');
          const want = await net.forward(x);
          setIsa(isa);
          const got = await net.forward(x);
          expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `${shape} ${type}`).toBe(true);
          // −0 wins where the scalar rule keeps it (its sign is in the bits compared above)
          if (type === 'maxpool') expect(Array.from(got).some((v) => Object.is(v, -0))).toBe(true);
        }
    });
  // The argmax (training, attacks): the first of tied cells in row order takes the gradient.
  for (const isa of ['avx2', 'avx512'] as const)
    it(`${isa} = generic: max-pool argmax through the input gradient (ties)`, async (ctx) => {
      ctx.skip(!has(isa), NO[isa]);
      for (const shape of [[2, 6, 20], [3, 4, 8]] as [number, number, number][]) {
        const net = new Network({ input: shape, layers: [{ type: 'maxpool', kernel: 2, stride: 2 }, { type: 'flatten' }, { type: 'dense', units: 4 }], output: 'linear', biases: true });
        const p = net.parameters();
        p.weights[0].set(rand(p.weights[0].length, 5).map((v) => v - 0.5));
        net.setParameters(p);
        const x = input(6 * net.inputSize).map((v) => (v + 1) / 2);  // in [0, 1], ties kept
        const y = Int32Array.from({ length: 6 }, (_, i) => i % 4);
        setIsa('generic');
        const want = (await inputGradient(net, x, y)).grad;
        setIsa(isa);
        const got = (await inputGradient(net, x, y)).grad;
        expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `${shape}`).toBe(true);
        expect(want.some((v) => v !== 0)).toBe(true);
      }
    });
});

describe('sleep on every path', () => {
  const net = controlNetwork();
  const x = head(loadMnist().train, 3000).x;
  const opts = { preset: 'mnist-fgsm' as const, seed: 1, steps: 3000, scaleFactors: manifest().norm_constants };
  let generic: Awaited<ReturnType<typeof sleep>> | undefined;

  for (const isa of ['avx2', 'avx512'] as const)
    it(`${isa}: the same spikes, weights and membranes as the generic path (3,000 MNIST steps)`, async (ctx) => {
      ctx.skip(!has(isa), NO[isa]);
      if (!generic) {
        setIsa('generic');
        generic = await sleep(net, x, opts);
      }
      setIsa(isa);
      const r = await sleep(net, x, opts);
      expect(generic.stats.spikes[1]).toBeGreaterThan(0);
      expect(r.stats.spikes).toEqual(generic.stats.spikes);
      expect(r.stats.potentiation).toEqual(generic.stats.potentiation);
      expect(r.stats.depression).toEqual(generic.stats.depression);
      for (let l = 0; l < net.weightLayers; l++) {
        expect(Array.from(r.stats.neuronSpikes[l + 1])).toEqual(Array.from(generic.stats.neuronSpikes[l + 1]));
        expect(firstDiff(r.network.getWeights(l), generic.network.getWeights(l))).toBe(-1);
        expect(firstDiff(r.stats.membranes[l + 1], generic.stats.membranes[l + 1])).toBe(-1);
      }
    });
});

describe('CNN sleep on every path', () => {
  // The conv kernels (native/core/sleep_conv_simd.h) on each path: the PyTorch LeNet with
  // biases as currents (every position checked each step) and without (touched positions only).
  const x = head(loadMnist().train, 1500).x;
  const cases = [
    { bias: 'ignore' as const, convStdp: 'sum' as const },
    { bias: 'current' as const, convStdp: 'mean' as const },
  ];
  for (const isa of ['avx2', 'avx512'] as const)
    for (const c of cases)
      it(`${isa}, bias ${c.bias}: the same spikes, weights and membranes as the generic path (1,500 steps of the LeNet fixture)`, async (ctx) => {
        ctx.skip(!has(isa), NO[isa]);
        const net = await loadOnnx(new URL('../fixtures/onnx/lenet_max.onnx', import.meta.url).pathname);
        const base = { preset: 'mnist-fgsm' as const, seed: 2, steps: 1500, maxRate: 120, beta: [0.5, 0.5, 0.5, 0.5], alphaScale: 2, ...c };
        // the scale factors once, from forward passes (the same on every path: isa-bits.test.ts)
        setIsa('generic');
        const opts = { ...base, scaleFactors: (await sleep(net, x, { ...base, steps: 1 })).stats.scaleFactors };
        const g = await sleep(net, x, opts);
        setIsa(isa);
        const r = await sleep(net, x, opts);
        expect(g.stats.spikes.slice(1, 4).every((s) => s > 0)).toBe(true);
        expect(r.stats.spikes).toEqual(g.stats.spikes);
        expect(r.stats.potentiation).toEqual(g.stats.potentiation);
        for (let l = 0; l < net.weightLayers; l++) expect(firstDiff(r.network.getWeights(l), g.network.getWeights(l))).toBe(-1);
        for (let l = 1; l < r.stats.membranes.length; l++) expect(firstDiff(r.stats.membranes[l], g.stats.membranes[l])).toBe(-1);
      });
});

describe('training on every path', () => {
  const data = head(loadMnist().train, 600);
  function bytes(net: Network): Buffer {
    return Buffer.concat(net.parameters().weights.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  }
  async function trained(isa: 'generic' | 'avx2' | 'avx512', threads: number): Promise<Buffer> {
    setIsa(isa);
    setGemm('native');
    setThreads(threads);
    const net = createNetwork('paper', [784, 64, 10], 3);
    await train(net, data, { ...recipeOptions('paper', 3), epochs: 1, batchSize: 50 });
    return bytes(net);
  }

  it('the same weights for 1 and 2 threads on every path this CPU runs', async () => {
    for (const isa of supported) expect((await trained(isa, 1)).equals(await trained(isa, 2)), isa).toBe(true);
    setThreads('auto');
  });

  for (const isa of ['avx2', 'avx512'] as const)
    it(`${isa} trains the same weights as generic (same FMA chains)`, async (ctx) => {
      ctx.skip(!has(isa), NO[isa]);
      expect((await trained(isa, 2)).equals(await trained('generic', 2))).toBe(true);
    });
});

describe('choosing a path', () => {
  it('info names the path in use, why, and the paths this CPU runs', () => {
    expect(supported).toContain('generic');
    expect(info.isa.compiled).toEqual(expect.arrayContaining(supported));
    expect(info.isa.reason).toMatch(process.env.NREM_ISA ? new RegExp(`NREM_ISA=${process.env.NREM_ISA}`) : /^auto: /);
    if (!process.env.NREM_ISA) expect(start).toBe(supported.at(-1)); // the widest by default
  });

  it('setIsa to a path this CPU cannot run is a BackendError naming what it lacks', (ctx) => {
    const missing = (['avx2', 'avx512'] as const).filter((i) => !has(i));
    ctx.skip(missing.length === 0, 'skipped: this CPU runs every path');
    setIsa(start);
    for (const isa of missing) expect(() => setIsa(isa)).toThrow(BackendError);
    expect(() => setIsa(missing.at(-1)!)).toThrow(/lacks .*avx512f|lacks .*avx2/);
    expect(runtimeInfo().isa.name).toBe(start); // unchanged
  });

  // Loads the addon in a fresh process with env set.
  function load(env: Record<string, string>) {
    const code = `try { const a = require(${JSON.stringify(info.addon)}); console.log('loaded', a.info().isa.name) } catch (e) { console.log('error', e.code, e.message); process.exitCode = 3 }`;
    return spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, ...env } });
  }

  it('NREM_ISA naming a path this CPU cannot run fails at load with the reason (no illegal instruction)', (ctx) => {
    const missing = (['avx2', 'avx512'] as const).filter((i) => !has(i));
    ctx.skip(missing.length === 0, 'skipped: this CPU runs every path');
    const r = load({ NREM_ISA: missing.at(-1)! });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/error ERR_BACKEND NREM_ISA=avx(2|512) asks for the avx(2|512) kernels, but this CPU .* lacks/);
  });

  it('NREM_ISA=generic loads the generic path; an unknown name is ERR_VALUE', () => {
    expect(load({ NREM_ISA: 'generic' }).stdout).toMatch(/loaded generic/);
    const bad = load({ NREM_ISA: 'sse9' });
    expect(bad.status).toBe(3);
    expect(bad.stdout).toMatch(/error ERR_VALUE NREM_ISA=sse9 is not a CPU path/);
  });

  it('NREM_GEMM_KERNEL forces the avx512 path\'s GEMM kernel; another value is ERR_VALUE at load', (ctx) => {
    const bad = load({ NREM_GEMM_KERNEL: 'avx1024' });
    expect(bad.signal).toBeNull();
    expect(bad.status).toBe(3);
    expect(bad.stdout).toMatch(/error ERR_VALUE NREM_GEMM_KERNEL=avx1024 is not a choice \(expected avx512, avx2 or auto/);
    ctx.skip(!has('avx512'), NO.avx512);
    for (const k of ['avx512', 'avx2']) {
      const code = `const a = require(${JSON.stringify(info.addon)}); a.setIsa('avx512'); const i = a.info().isa; console.log(i.gemmKernel + ' | ' + i.gemmKernelReason)`;
      const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, NREM_GEMM_KERNEL: k } });
      expect(r.stdout.trim()).toBe(`${k === 'avx512' ? 'avx512 12x32' : 'avx2 6x16'} (fma) | forced by NREM_GEMM_KERNEL=${k}`);
    }
  });

  it('NREM_FMA=software gives the generic path the software fma; another value is ERR_VALUE at load', () => {
    const soft = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(info.addon)}); a.setIsa('generic'); console.log(a.info().isa.gemmKernel)`], {
      encoding: 'utf8',
      env: { ...process.env, NREM_FMA: 'software' },
    });
    expect(soft.stdout).toMatch(process.arch === 'x64' ? /generic 6x8 \(fma, software\)/ : /generic 6x8 \(fma\)/);
    const bad = load({ NREM_FMA: 'fast' });
    expect(bad.status).toBe(3);
    expect(bad.stdout).toMatch(/error ERR_VALUE NREM_FMA=fast is not a choice \(expected software or auto\)/);
  });
});
