/**
 * Cancellation and progress of the native calls (native/addon/task.cc, native/core/cancel.h):
 * each long call aborted at a seeded random progress event rejects with AbortError and the
 * same call run again gives exactly the uninterrupted result (no corrupted state); a
 * progress callback that throws rejects the call with that very error. Also the blur's
 * kernel for any σ (folded beyond the image, no signed overflow for σ = 1e9) and the
 * finiteness checks of attack inputs. Run under ASan + UBSan by scripts/sanitize.sh.
 */
import { describe, expect, it } from 'vitest';
import { AbortError, createNetwork, distort, fgsmSweep, generatePatches, PGD, recipeOptions, sleep, sleepBatch, train, ValueError, type Network, type ProgressEvent } from '../src/index.js';
import { addon } from '../src/native/binding.js';
import { rngUniform, RngStream } from '../src/util/rng.js';

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const same = (a: ArrayBufferView[], b: ArrayBufferView[]) => a.length === b.length && a.every((x, i) => bytes(x).equals(bytes(b[i])));

const { train: data, test } = generatePatches({ n: 400, nTest: 300, seed: 5 });
let trained: Network | undefined;
async function control(): Promise<Network> {
  if (!trained) {
    trained = createNetwork('paper', [100, 48, 32, 4], 1);
    await train(trained, data, { ...recipeOptions('paper', 1), epochs: 3, batchSize: 20 });
  }
  return trained;
}

type Call = (opts: { signal?: AbortSignal; onProgress?: (p: ProgressEvent) => void }) => Promise<ArrayBufferView[]>;

/**
 * Runs `call` uninterrupted (counting its progress events), then `tries` times with an abort
 * at a seeded random event in the first half, each followed by the same call again, which
 * must equal the uninterrupted result. Progress reaches JavaScript asynchronously, so on a
 * loaded machine the native side may finish before the abort lands: such a run must then
 * equal the uninterrupted one, and at least one of the tries must have been aborted.
 */
async function abortAndRerun(name: string, call: Call, tries = 3): Promise<void> {
  let events = 0;
  const ref = await call({ onProgress: () => void events++ });
  expect(events, `${name}: progress events`).toBeGreaterThan(3);
  let aborted = 0;
  for (let t = 0; t < tries; t++) {
    const at = 1 + Math.floor(rngUniform(17, RngStream.data, name.length, t) * Math.floor(events / 2));
    const ac = new AbortController();
    let seen = 0;
    try {
      const done = await call({ signal: ac.signal, onProgress: () => void (++seen === at && ac.abort()) });
      expect(same(done, ref), `${name}: a run the abort reached too late is still the uninterrupted result`).toBe(true);
    } catch (err) {
      expect(err, `${name}: abort at event ${at}`).toBeInstanceOf(AbortError);
      aborted++;
    }
    const again = await call({});
    expect(same(again, ref), `${name}: the run after an abort equals the uninterrupted one`).toBe(true);
  }
  expect(aborted, `${name}: aborted mid-way`).toBeGreaterThan(0);
}

describe('abort at a random point, then the same call again', () => {
  it('sleep: the event engine layer by layer, step by step (inhibition), and the dense reference', async () => {
    const net = await control();
    const base = { preset: 'patches' as const, beta: [1, 0.8, 0.6], steps: 100_000, seed: 3, input: 'sequence' as const };
    for (const [name, extra] of [
      ['event, layer-wise', {}],
      ['event, step-wise', { inhibition: 0.2 }],
      ['dense', { engine: 'dense' as const, steps: 12_000 }],
    ] as const) {
      await abortAndRerun(`sleep ${name}`, async (o) => {
        const r = await sleep(net, data, { ...base, ...extra, ...o });
        return r.network.parameters().weights;
      });
    }
  }, 300_000);

  it('sleepBatch', async () => {
    const net = await control();
    await abortAndRerun('sleepBatch', async (o) => {
      const list = [1, 2, 3, 4].map((seed) => ({ preset: 'patches' as const, beta: [1, 0.8, 0.6], steps: 50_000, seed, input: 'sequence' as const }));
      const r = await sleepBatch(net, data, [{ ...list[0], ...o }, ...list.slice(1)]);
      return r.flatMap((x) => x.network.parameters().weights);
    });
  }, 300_000);

  it('an attack (PGD) and the FGSM sweep', async () => {
    const net = await control();
    await abortAndRerun('pgd', async (o) => {
      const r = await new PGD({ loss: 'ce', steps: 40 }).run(net, test.x, test.y, { epsilons: [0.1, 0.3], seed: 2, ...o });
      return r.raw;
    });
    await abortAndRerun('fgsm sweep', async (o) => (await fgsmSweep(net, test.x, test.y, { epsilons: Array.from({ length: 300 }, (_, i) => i / 1000), ...o })).correct);
  }, 300_000);

  it('training (a fresh network each run)', async () => {
    await abortAndRerun('train', async (o) => {
      const net = createNetwork('paper', [100, 48, 32, 4], 9);
      await train(net, data, { ...recipeOptions('paper', 9), epochs: 4, batchSize: 10, ...o });
      return net.parameters().weights;
    });
  }, 300_000);

  it('distortions (blur, noise) over 20,000 rows', async () => {
    const big = new Float32Array(20_000 * 100);
    for (let i = 0; i < big.length; i++) big[i] = test.x[i % test.x.length];
    await abortAndRerun('blur', async (o) => [await distort(big, 100, 'blur', 1.7, { shape: [10, 10], ...o })]);
    await abortAndRerun('noise', async (o) => [await distort(big, 100, 'noise', 0.3, { seed: 5, ...o })]);
  }, 300_000);
});

describe('a progress callback that throws rejects the call with its own error', () => {
  const boom = () => new Error('thrown by the progress callback');
  const calls: [string, (onProgress: (p: ProgressEvent) => void) => Promise<unknown>][] = [
    ['sleep', async (onProgress) => sleep(await control(), data, { preset: 'patches', beta: [1, 0.8, 0.6], steps: 20_000, seed: 1, onProgress })],
    ['train', async (onProgress) => train(createNetwork('paper', [100, 16, 4], 2), data, { ...recipeOptions('paper', 2), epochs: 2, onProgress })],
    ['pgd', async (onProgress) => new PGD({ steps: 20 }).run(await control(), test.x, test.y, { epsilons: [0.2], onProgress })],
    ['fgsm sweep', async (onProgress) => fgsmSweep(await control(), test.x, test.y, { epsilons: [0, 0.1, 0.2], onProgress })],
    ['distort', async (onProgress) => distort(new Float32Array(5000 * 100).fill(0.5), 100, 'blur', 2, { onProgress })],
  ];
  for (const [name, call] of calls) {
    it(name, async () => {
      for (const when of ['first', 'last'] as const) {
        const err = boom();
        let n = 0;
        const p = call((e) => {
          n++;
          if (when === 'first' || e.done >= e.total) throw err;
        });
        await expect(p).rejects.toBe(err);
        expect(n, 'the callback is not called again after it threw').toBeLessThanOrEqual(when === 'first' ? 1 : Infinity);
      }
      // The next call is unaffected.
      await expect(call(() => {})).resolves.toBeDefined();
    }, 120_000);
  }
});

describe('blur: any σ, no overflow', () => {
  /** Replicate-padded separable Gaussian in double, tap by tap: the definition. */
  function blurRef(x: Float32Array, h: number, w: number, sigma: number): Float64Array {
    const rad = Math.ceil(2 * sigma);
    const k: number[] = [];
    let s = 0;
    for (let t = -rad; t <= rad; t++) s += k[t + rad] = Math.exp(-(t * t) / (2 * sigma * sigma));
    const clamp = (i: number, m: number) => Math.min(m - 1, Math.max(0, i));
    const tmp = new Float64Array(h * w), out = new Float64Array(h * w);
    for (let u = 0; u < h; u++)
      for (let v = 0; v < w; v++) {
        let a = 0;
        for (let t = -rad; t <= rad; t++) a += (k[t + rad] / s) * x[u * w + clamp(v + t, w)];
        tmp[u * w + v] = a;
      }
    for (let u = 0; u < h; u++)
      for (let v = 0; v < w; v++) {
        let a = 0;
        for (let t = -rad; t <= rad; t++) a += (k[t + rad] / s) * tmp[clamp(u + t, h) * w + v];
        out[u * w + v] = Math.min(1, Math.max(0, a));
      }
    return out;
  }

  it('σ whose kernel reaches past the image (folded) equals the tap-by-tap definition', async () => {
    const img = test.x.subarray(0, 300); // three 10×10 images
    for (const sigma of [4.6, 5, 30, 2000]) {
      const got = await distort(img, 100, 'blur', sigma, { shape: [10, 10] });
      for (let r = 0; r < 3; r++) {
        const ref = blurRef(img.subarray(r * 100, (r + 1) * 100), 10, 10, sigma);
        let d = 0;
        for (let i = 0; i < 100; i++) d = Math.max(d, Math.abs(got[r * 100 + i] - ref[i]));
        expect(d, `σ = ${sigma}`).toBeLessThan(2e-6);
      }
    }
  });

  it('σ = 1e9 is refused with a typed error, in TypeScript and in C++ (no signed overflow)', async () => {
    await expect(distort(test.x.subarray(0, 100), 100, 'blur', 1e9)).rejects.toBeInstanceOf(ValueError);
    const out = new Float32Array(100);
    await expect(addon().distort('blur', 1e9, test.x.subarray(0, 100), 1, 100, 10, 10, 0, 0, out)).rejects.toMatchObject({ code: 'ERR_VALUE' });
    await expect(distort(test.x.subarray(0, 100), 100, 'blur', 1e6)).resolves.toHaveLength(100); // the largest σ, O(h·w·(h+w))
  });
});

describe('non-finite attack and sweep inputs are refused, naming row and column', () => {
  it('fgsmSweep, attacks, gradients, distortions', async () => {
    const net = await control();
    const x = test.x.slice(0, 500);
    x[3 * 100 + 7] = NaN;
    const y = test.y.slice(0, 5);
    await expect(fgsmSweep(net, x, y, { epsilons: [0.1] })).rejects.toThrow(/row 3, column 7/);
    await expect(new PGD().run(net, x, y, { epsilons: [0.1] })).rejects.toThrow(/row 3, column 7/);
    const { inputGradient } = await import('../src/attacks/gradients.js');
    await expect(inputGradient(net, x, y)).rejects.toThrow(ValueError);
    await expect(distort(x, 100, 'noise', 0.1)).rejects.toThrow(/row 3, column 7/);
  });
});
