/**
 * Provenance: where a network came from, recorded in the ONNX metadata_props of every model
 * file nrem writes (toOnnxBytes) and read back on import, so that `nrem inspect` can show it
 * and a command run on other data, or on inputs outside the recorded range, can say so.
 *
 *   nrem.version              nrem's version that wrote the file
 *   nrem.dataset              the data set spec it learned from ("mnist", "fashion-mnist", "mnist-idx:DIR", …)
 *   nrem.dataset.sha256       sha256 of that data set's whole training split (src/data/hash.ts)
 *   nrem.dataset.rows         the rows it used, in words (a quick subset says so)
 *   nrem.input.range          JSON [lo, hi]: the range of the training inputs
 *   nrem.input.preprocessing  how the inputs were made from the files (e.g. "IDX bytes / 255")
 *   nrem.recipe               JSON: the training recipe (name, seed, epochs, …)
 *   nrem.operations           JSON array, oldest first: { op, parameters } for train, sleep,
 *                             distillation, finetune, pgd-train, … (what made this network from its parent)
 *
 * A network's provenance travels beside it (a WeakMap: Network itself is unchanged); the
 * operations that derive one network from another append to a copy of the parent's.
 */
import type { Dataset } from '../data/dataset.js';
import { nremVersion } from '../util/version.js';
import { addon } from '../native/binding.js';
import type { Network } from './network.js';

export interface Provenance {
  version?: string;
  dataset?: { name: string; sha256?: string; rows?: string };
  input?: { range?: [number, number]; preprocessing?: string };
  recipe?: unknown;
  operations?: { op: string; parameters: Record<string, unknown> }[];
}

const registry = new WeakMap<Network, Provenance>();

export function provenanceOf(net: Network): Provenance | undefined {
  return registry.get(net);
}

export function setProvenance<T extends Network>(net: T, p: Provenance): T {
  registry.set(net, p);
  return net;
}

/** How the inputs of a data set spec were made from its files. */
export function preprocessingOf(source: string): string {
  const kind = source.split(':')[0];
  if (kind === 'mnist' || kind === 'fashion-mnist' || kind === 'mnist-idx') return 'IDX bytes / 255 (pixels in [0, 1]), rows of 28×28 flattened';
  if (kind === 'patches') return 'generated binary patches (pixels 0 or 1)';
  if (kind === 'features') return `feature rows as stored in ${source.slice('features:'.length)}`;
  return 'as loaded';
}

/** min and max of the finite values of x (native, off the main thread). */
async function range(x: Float32Array): Promise<[number, number]> {
  const s = await addon().scanValues(x, 0, 1);
  return [s.min, s.max];
}

/** The data part of a provenance: the set the network learned from (its source, hash and rows) and its input range. */
export async function dataProvenance(train: Dataset): Promise<Pick<Provenance, 'dataset' | 'input'>> {
  const source = train.source ?? train.name;
  return {
    dataset: { name: source, ...(train.datasetSha256 ? { sha256: train.datasetSha256 } : {}), rows: `${train.n.toLocaleString('en-US')} rows: ${train.name}` },
    input: { range: await range(train.x.subarray(0, train.n * train.dims)), preprocessing: preprocessingOf(source) },
  };
}

/** A network made from data (training, distillation, PGD training from scratch). */
export async function madeFrom<T extends Network>(net: T, train: Dataset, op: string, parameters: Record<string, unknown>, recipe?: unknown): Promise<T> {
  return setProvenance(net, { version: nremVersion(), ...(await dataProvenance(train)), ...(recipe !== undefined ? { recipe } : {}), operations: [{ op, parameters }] });
}

/**
 * A network made from `parent` (sleep, fine-tuning, adversarial fine-tuning): the parent's
 * provenance with this operation appended. `train` is the data the operation used: it
 * becomes the data set of a parent that has none recorded (a network from another tool).
 */
export async function derivedFrom<T extends Network>(net: T, parent: Network, op: string, parameters: Record<string, unknown>, train?: Dataset): Promise<T> {
  const p = provenanceOf(parent) ?? {};
  const data = !p.dataset && train ? await dataProvenance(train) : {};
  const used = train ? { data: train.source ?? train.name } : {};
  return setProvenance(net, { ...p, ...data, version: nremVersion(), operations: [...(p.operations ?? []), { op, parameters: { ...parameters, ...used } }] });
}

/** The metadata_props entries of a provenance. */
export function provenanceMetadata(p: Provenance | undefined): Record<string, string> {
  if (!p) return {};
  const m: Record<string, string> = {};
  if (p.version) m['nrem.version'] = p.version;
  if (p.dataset) {
    m['nrem.dataset'] = p.dataset.name;
    if (p.dataset.sha256) m['nrem.dataset.sha256'] = p.dataset.sha256;
    if (p.dataset.rows) m['nrem.dataset.rows'] = p.dataset.rows;
  }
  if (p.input?.range) m['nrem.input.range'] = JSON.stringify(p.input.range);
  if (p.input?.preprocessing) m['nrem.input.preprocessing'] = p.input.preprocessing;
  if (p.recipe !== undefined) m['nrem.recipe'] = JSON.stringify(p.recipe);
  if (p.operations?.length) m['nrem.operations'] = JSON.stringify(p.operations);
  return m;
}

function json(s: string | undefined): unknown {
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** The provenance in a file's metadata_props (undefined when it records none: a file from another tool). */
export function parseProvenance(meta: Record<string, string>): Provenance | undefined {
  const p: Provenance = {};
  if (meta['nrem.version']) p.version = meta['nrem.version'];
  if (meta['nrem.dataset'])
    p.dataset = {
      name: meta['nrem.dataset'],
      ...(/^[0-9a-f]{64}$/.test(meta['nrem.dataset.sha256'] ?? '') ? { sha256: meta['nrem.dataset.sha256'] } : {}),
      ...(meta['nrem.dataset.rows'] ? { rows: meta['nrem.dataset.rows'] } : {}),
    };
  const r = json(meta['nrem.input.range']);
  const range = Array.isArray(r) && r.length === 2 && r.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (r as [number, number]) : undefined;
  if (range || meta['nrem.input.preprocessing']) p.input = { ...(range ? { range } : {}), ...(meta['nrem.input.preprocessing'] ? { preprocessing: meta['nrem.input.preprocessing'] } : {}) };
  const recipe = json(meta['nrem.recipe']);
  if (recipe !== undefined) p.recipe = recipe;
  const ops = json(meta['nrem.operations']);
  if (Array.isArray(ops)) p.operations = ops.filter((o) => o && typeof o === 'object' && typeof o.op === 'string').map((o) => ({ op: o.op, parameters: o.parameters && typeof o.parameters === 'object' ? o.parameters : {} }));
  return Object.keys(p).length ? p : undefined;
}

/**
 * What does not fit between a network's provenance and the data a command runs it on: another
 * data set than the one it learned from, or inputs outside its recorded range. `model` names
 * the network in the messages (its file).
 */
export async function provenanceMismatch(net: Network, model: string, data: Dataset): Promise<string[]> {
  const p = provenanceOf(net);
  if (!p) return [];
  const out: string[] = [];
  const source = data.source ?? data.name;
  if (p.dataset?.sha256 && data.datasetSha256 && p.dataset.sha256 !== data.datasetSha256)
    out.push(
      `${model} was trained on ${p.dataset.name} (training rows sha256 ${p.dataset.sha256.slice(0, 12)}…) but this command runs it on ${source} ` +
        `(sha256 ${data.datasetSha256.slice(0, 12)}…): its figures here are not about the data it learned; pass --dataset ${p.dataset.name} to use that`,
    );
  const r = p.input?.range;
  if (r) {
    const [lo, hi] = await range(data.x.subarray(0, data.n * data.dims));
    const tol = 1e-6 * Math.max(1, Math.abs(r[0]), Math.abs(r[1]));
    if (lo < r[0] - tol || hi > r[1] + tol)
      out.push(`${model} was trained on inputs in [${r[0]}, ${r[1]}] but ${source} has values in [${lo}, ${hi}]: the network is run outside the range it learned`);
  }
  return out;
}
