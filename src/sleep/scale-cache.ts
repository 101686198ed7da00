/**
 * The sleep's scale factors (normalize.ts) computed once per (network, data, normalisation)
 * and kept in nrem's cache (src/util/cache.ts), so that the next sleep of the same network on
 * the same rows — another seed, another preset with the same normalisation, a resumed study —
 * skips the forward pass over the training data. The entry is named by
 *   sha256( weights and biases of every layer · architecture · the rows' identity · normalisation · percentile )
 * where the rows' identity is the data set's training-rows hash (src/data/hash.ts) with the
 * subset's name and row count (a quick subset is named by its size and seed), or, for data
 * without a recorded hash, the hash of the rows themselves. A cached entry holds the layer
 * maxima s_l and factors exactly (JSON keeps every double), so the sleep is bit for bit the same.
 */
import { createHash } from 'node:crypto';
import type { Dataset } from '../data/dataset.js';
import { rowsHash } from '../data/hash.js';
import type { Network } from '../model/network.js';
import type { RunOptions } from '../util/control.js';
import { readCache, writeCache } from '../util/cache.js';
import { scaleFactors, type ScaleFactors } from './normalize.js';
import type { Normalization } from './presets.js';

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The cache entry name of a network's factors on `data`. */
export async function scaleKey(net: Network, data: Dataset, normalization: Normalization, percentile: number | undefined): Promise<string> {
  const h = createHash('sha256');
  h.update(`nrem-scale-v1 ${normalization} ${percentile ?? 'max'} ${JSON.stringify(net.spec())}\n`);
  const { weights, biases } = net.parameters();
  for (let k = 0; k < weights.length; k++) {
    h.update(bytes(weights[k]));
    if (biases[k]) h.update(bytes(biases[k]!));
  }
  const rows = data.datasetSha256 ? `${data.datasetSha256} ${data.name}` : await rowsHash(data);
  h.update(`\n${rows} ${data.n}x${data.dims}`);
  return `scale-${h.digest('hex').slice(0, 40)}.json`;
}

function parse(b: Uint8Array, layers: number, normalization: Normalization): ScaleFactors | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(b)) as ScaleFactors;
    const ok = (a: unknown) => Array.isArray(a) && a.length === layers && a.every((x) => typeof x === 'number' && x > 0 && Number.isFinite(x));
    return v.normalization === normalization && ok(v.layerMax) && ok(v.factors) ? v : null;
  } catch {
    return null;
  }
}

/** The factors of `net` on `data`: from the cache when an entry matches, else computed (and cached). `hit` says which. */
export async function cachedScaleFactors(
  net: Network,
  data: Dataset,
  normalization: Normalization,
  opts: RunOptions & { percentile?: number } = {},
): Promise<ScaleFactors & { hit: boolean }> {
  const name = await scaleKey(net, data, normalization, opts.percentile);
  let found: ScaleFactors | null = null;
  readCache(name, { accept: (b) => (found = parse(b, net.weightLayers, normalization)) !== null });
  if (found) return { ...(found as ScaleFactors), hit: true };
  const s = await scaleFactors(net, data.x.subarray(0, data.n * data.dims), normalization, opts);
  writeCache(name, JSON.stringify({ normalization: s.normalization, layerMax: s.layerMax, factors: s.factors }));
  return { ...s, hit: false };
}
