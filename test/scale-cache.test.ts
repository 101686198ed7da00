// The sleep's scale factors once per (network, data): cached entries give the same factors and
// the same slept network bit for bit; another network or other rows miss. (src/sleep/scale-cache.ts)
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../src/data/index.js';
import { head } from '../src/data/dataset.js';
import { createNetwork, recipeOptions, train } from '../src/train/train.js';
import { scaleFactors } from '../src/sleep/normalize.js';
import { cachedScaleFactors } from '../src/sleep/scale-cache.js';
import { sleep } from '../src/sleep/sleep.js';

const dir = mkdtempSync(join(tmpdir(), 'nrem-scale-'));
const saved = process.env.NREM_CACHE_DIR;
process.env.NREM_CACHE_DIR = dir;
afterAll(() => {
  if (saved === undefined) delete process.env.NREM_CACHE_DIR;
  else process.env.NREM_CACHE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('cached scale factors', () => {
  it('a hit equals the computed factors, and sleeping with them gives the same network', async () => {
    const { train: data } = await loadDataset('patches', { seed: 1 });
    const net = createNetwork('paper', [100, 32, 16, 4], 1);
    await train(net, data, { ...recipeOptions('paper', 1), epochs: 3 });
    const fresh = await scaleFactors(net, data.x, 'release');
    const a = await cachedScaleFactors(net, data, 'release');
    const b = await cachedScaleFactors(net, data, 'release');
    expect([a.hit, b.hit]).toEqual([false, true]);
    expect(b.factors).toEqual(fresh.factors);
    expect(b.layerMax).toEqual(fresh.layerMax);
    expect(readdirSync(dir).filter((f) => f.startsWith('scale-'))).toHaveLength(1);
    const p = { preset: 'patches' as const, beta: [1.045, 1.045, 1.045], steps: 500, seed: 2 };
    const s1 = await sleep(net, data, p);
    const s2 = await sleep(net, data, { ...p, scaleFactors: b.factors });
    for (let k = 0; k < net.weightLayers; k++) expect(s2.network.getWeights(k)).toEqual(s1.network.getWeights(k));
    expect(s2.stats.spikes).toEqual(s1.stats.spikes);
  });

  it('another network, other rows or another normalisation miss', async () => {
    const { train: data } = await loadDataset('patches', { seed: 1 });
    const net = createNetwork('paper', [100, 16, 4], 3);
    expect((await cachedScaleFactors(net, data, 'release')).hit).toBe(false);
    expect((await cachedScaleFactors(net, data, 'release')).hit).toBe(true);
    expect((await cachedScaleFactors(net, head(data, 50, 'first 50'), 'release')).hit).toBe(false);
    expect((await cachedScaleFactors(net, data, 'diehl')).hit).toBe(false);
    const w = net.getWeights(0);
    w[0] += 0.5;
    net.setWeights(0, w);
    const moved = await cachedScaleFactors(net, data, 'release');
    expect(moved.hit).toBe(false);
    expect(moved.factors).toEqual((await scaleFactors(net, data.x, 'release')).factors);
  });
});
