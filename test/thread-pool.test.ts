/**
 * The compute pool (native/core/thread_pool.h): the stand-alone C++ tests (coverage,
 * nesting runs inline, exceptions, concurrent callers, a running call keeps its pool while
 * set_threads replaces it), then through the addon: setThreads toggled 20 times while
 * sleeps run gives 20 settled, correct results, and 1, 2 and 8 threads give bit-identical
 * sleeps, batched sleeps, training, forward passes, FGSM sweeps and distortions.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runNativeTest } from './helpers/native-test.js';
import { createNetwork, distort, fgsmSweep, generatePatches, recipeOptions, runtimeInfo, setThreads, sleep, sleepBatch, train, ValueError, type Network } from '../src/index.js';

const initial = runtimeInfo().threads;
afterAll(() => setThreads('auto'));

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('thread pool, stand-alone C++ tests', () => {
  it('pass (coverage, nesting inline, exceptions, concurrent callers, leases across set_threads)', () => {
    const out = runNativeTest(['test/native-core/thread_pool_test.cc', 'native/core/thread_pool.cc', 'native/core/cancel.cc'], ['-O1', '-pthread']);
    expect(out).toMatch(/nesting: a parallel_for inside a chunk runs inline/);
    expect(out).toMatch(/lease: 3 calls x \d+ loops while the pool was replaced 20 times, all correct/);
    expect(out).toMatch(/^ok \d+ checks$/m);
  }, 120_000);
});

describe('setThreads', () => {
  it('refuses 0, negatives, fractions and more than 1024; accepts 1 … 1024 and "auto"', () => {
    for (const bad of [0, -1, 1.5, 1025, NaN, '2' as never]) expect(() => setThreads(bad)).toThrow(ValueError);
    setThreads(3);
    expect(runtimeInfo().threads).toBe(3);
    setThreads('auto');
    expect(runtimeInfo().threads).toBe(initial);
  });

  it('toggled 20 times while 20 sleeps run: 20 settled results, each equal to the one-thread sleep', async () => {
    // Long enough (≈ 0.3 s each, 4 at a time on libuv's threads) that every toggle lands
    // while calls run on the pool it replaces: before the pool was leased, 3 runs out of 4
    // hung or crashed (SIGSEGV) here.
    const { train: data } = generatePatches({ n: 200, seed: 3 });
    const net = createNetwork('paper', [100, 300, 300, 4], 5);
    const o = { preset: 'patches' as const, beta: [1, 1, 1], steps: 100_000, seed: 7, input: 'sequence' as const };
    setThreads(1);
    const ref = await sleep(net, data, o);
    expect(ref.stats.spikes.every((n) => n > 0)).toBe(true);
    const runs = Array.from({ length: 20 }, () => sleep(net, data, { ...o }));
    for (let k = 0; k < 20; k++) {
      setThreads(k % 2 ? 1 : 4); // replaces the pool while calls run on it
      await new Promise((r) => setTimeout(r, 15));
    }
    let timer: NodeJS.Timeout | undefined;
    const never = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), 90_000)));
    const settled = await Promise.race([Promise.allSettled(runs), never]);
    clearTimeout(timer);
    expect(settled, 'every sleep settles').not.toBe('pending');
    const all = settled as PromiseSettledResult<Awaited<typeof ref>>[];
    expect(all.map((s) => s.status)).toEqual(Array(20).fill('fulfilled'));
    for (const s of all) {
      const r = (s as PromiseFulfilledResult<Awaited<typeof ref>>).value;
      expect(r.stats.spikes).toEqual(ref.stats.spikes);
      for (let l = 0; l < 3; l++) expect(bytes(r.network.getWeights(l)).equals(bytes(ref.network.getWeights(l)))).toBe(true);
    }
    setThreads('auto');
  }, 180_000);
});

describe('1, 2 and 8 threads give bit-identical results', () => {
  const { train: data, test } = generatePatches({ n: 300, nTest: 200, seed: 11 });

  async function everything(): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const net: Network = createNetwork('paper', [100, 40, 30, 4], 3);
    const o = { ...recipeOptions('paper', 3), epochs: 2, batchSize: 25 };
    await train(net, data, o);
    for (const w of net.parameters().weights) out.push(bytes(w));
    out.push(bytes(await net.forward(test.x)));
    const sw = await fgsmSweep(net, test.x, test.y, { epsilons: [0, 0.05, 0.1, 0.3], loss: 'ce' });
    for (const c of sw.correct) out.push(bytes(c));
    out.push(bytes(await distort(test.x, 100, 'blur', 1.3, { shape: [10, 10] })));
    out.push(bytes(await distort(test.x, 100, 'noise', 0.2, { seed: 4 })));
    const sl = await sleep(net, data, { preset: 'patches', beta: [1, 1, 1], steps: 3000, seed: 2, input: 'sequence' });
    expect(sl.stats.spikes[1]).toBeGreaterThan(0);
    for (const w of sl.network.parameters().weights) out.push(bytes(w));
    const stepwise = await sleep(net, data, { preset: 'patches', beta: [1, 1, 1], steps: 1500, seed: 2, inhibition: 0.3, input: 'sequence' });
    for (const w of stepwise.network.parameters().weights) out.push(bytes(w));
    const batch = await sleepBatch(net, data, [1, 2, 3].map((seed) => ({ preset: 'patches' as const, beta: [1, 1, 1], steps: 1500, seed, input: 'sequence' as const })));
    for (const b of batch) for (const w of b.network.parameters().weights) out.push(bytes(w));
    return out;
  }

  it('for training, forward, the FGSM sweep, distortions, sleep (both event orders) and batched sleep', async () => {
    const results: Buffer[][] = [];
    for (const t of [1, 2, 8]) {
      setThreads(t);
      results.push(await everything());
    }
    setThreads('auto');
    for (const r of results.slice(1)) {
      expect(r.length).toBe(results[0].length);
      r.forEach((b, i) => expect(b.equals(results[0][i]), `result ${i}`).toBe(true));
    }
  }, 180_000);
});
