/**
 * tune(net, data, opts): searches the sleep parameters of a network (`nrem tune`), as the
 * authors did with a genetic algorithm, or with CMA-ES.
 *
 * Each generation: the optimizer proposes points of the unit cube (src/tune/space.ts maps
 * them to sleep parameters); the candidates sleep copies of `net` on the sleep rows of the
 * training set, K sleeps per native call over all cores (sleepBatch), with ONE fixed sleep
 * seed and the scale factors computed once per normalisation; each slept network is scored
 * on held-out validation rows (src/tune/objective.ts); the optimizer is told the losses
 * (−score). After every generation the whole search state (optimizer, every candidate
 * and its score) is written atomically (temp file + rename) next to `out`; a call with
 * the same `out` continues from it, never re-evaluating a finished generation. The
 * budget counts sleeps (GA elites are not slept again). The test set is never used.
 *
 * Files, for out = "tuned.json": tuned.json (the best parameters as a preset file that
 * loadPresetFile / `nrem sleep --preset` reads), tuned.history.json (every candidate and
 * its score, best-so-far curve, baseline), tuned.checkpoint.json (the resumable state).
 */
import { readFile } from 'node:fs/promises';
import { writeAtomic } from '../util/atomic.js';
import { ArgumentError, ValueError } from '../errors.js';
import { Network } from '../model/network.js';
import type { Dataset, Split } from '../data/dataset.js';
import { ifLayerCount, sleepBatch } from '../sleep/sleep.js';
import { scaleFactors } from '../sleep/normalize.js';
import { getPreset, resolveParameters, type PresetName, type SleepParameters } from '../sleep/presets.js';
import { throwIfAborted } from '../util/control.js';
import { describe, expectInt, expectOneOf, expectSeed } from '../util/validate.js';
import { CmaEs, type CmaesState } from './cmaes.js';
import { GeneticAlgorithm, type GaState } from './ga.js';
import { SleepObjective, type Evaluation, type ObjectiveOptions } from './objective.js';
import type { Optimizer, OptimizerState } from './optimizer.js';
import { SearchSpace, type SpaceOptions } from './space.js';

export const ALGORITHMS = ['ga', 'cmaes'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface TuneOptions extends ObjectiveOptions, SpaceOptions {
  algorithm?: Algorithm;
  /** Candidates slept and scored, in all (default 200). */
  budget?: number;
  /** Candidates per generation (GA default 16; CMA-ES default 4 + ⌊3 ln dim⌋). */
  popSize?: number;
  /** Seed of the search (and of the validation distortions): default 0. */
  seed?: number;
  /** The one sleep seed every candidate sleeps with (default 1). */
  sleepSeed?: number;
  /** Also score this preset with the same data and seed (default mnist-fgsm when its depth fits; null: none). */
  baseline?: PresetName | Partial<SleepParameters> | null;
  /** Sleeps per native call (default: a whole generation). */
  batch?: number;
  /** Preset file to write; its stem names the history and checkpoint files. No files and no resume without it. */
  out?: string;
  /**
   * Sleeps and scores the candidates somewhere else (`nrem tune --redis`: BullMQ workers,
   * src/distributed/tune-remote.ts). Default: here, `batch` sleeps per native call.
   */
  candidates?: CandidateRunner;
}

/** One candidate to sleep and score: its parameters and the scale factors of its normalisation. */
export interface CandidateItem {
  parameters: SleepParameters;
  scaleFactors: number[];
}

/** A candidate slept and scored. */
export interface CandidateRun {
  ev: Evaluation;
  spikes: number[];
  changed: number[];
  seconds: number;
}

/** The options SleepObjective.create takes, as JSON (what a remote scorer rebuilds the objective from). */
export type ObjectiveConfig = Pick<ObjectiveOptions, 'objective' | 'penalty' | 'tolerance' | 'valSize' | 'valSplit' | 'seed' | 'loss'>;

export interface CandidateRunner {
  run(
    items: CandidateItem[],
    ctx: { sleepSeed: number; objective: ObjectiveConfig; describe: Record<string, unknown>; signal?: AbortSignal },
  ): Promise<CandidateRun[]>;
}

/** Sleeps copies of `net` with each item's parameters (one native call) and scores them. Shared by local and remote tuning. */
export async function sleepAndScore(net: Network, objective: SleepObjective, items: CandidateItem[], sleepSeed: number, signal?: AbortSignal): Promise<CandidateRun[]> {
  const slept = await sleepBatch(
    net,
    objective.sleepData,
    items.map((it) => ({ preset: it.parameters, seed: sleepSeed, scaleFactors: it.scaleFactors, signal })),
  );
  const evs = await objective.evaluate(
    slept.map((r) => r.network),
    { signal },
  );
  return slept.map((r, j) => ({ ev: evs[j], spikes: r.stats.spikes, changed: r.stats.weightsChanged, seconds: r.stats.seconds }));
}

export interface Candidate extends Evaluation {
  /** 1-based index of the sleep in the search. */
  evaluation: number;
  generation: number;
  unit: number[];
  parameters: SleepParameters;
  spikes: number[];
  weightsChanged: number[];
  sleepSeconds: number;
  /** Best score of candidates 1 … evaluation. */
  bestSoFar: number;
}

export interface Reference extends Evaluation {
  name: string;
  parameters?: SleepParameters;
}

export interface TuneHistory {
  algorithm: Algorithm;
  seed: number;
  sleepSeed: number;
  budget: number;
  objective: Record<string, unknown>;
  space: ReturnType<SearchSpace['describe']>;
  control: Reference;
  baseline: Reference | null;
  candidates: Candidate[];
  seconds: number;
}

export interface TuneResult {
  best: Candidate;
  history: TuneHistory;
  /** Sleeps done by this call (the rest came from the checkpoint). */
  evaluatedNow: number;
  resumed: boolean;
  generations: number;
  files?: { preset: string; history: string; checkpoint: string };
}

interface Checkpoint {
  version: 1;
  fingerprint: string;
  optimizer: OptimizerState;
  scale: Record<string, number[]>;
  history: TuneHistory;
}

export function tuneFiles(out: string): { preset: string; history: string; checkpoint: string } {
  const stem = out.replace(/\.json$/i, '');
  return { preset: out, history: `${stem}.history.json`, checkpoint: `${stem}.checkpoint.json` };
}


function weightsHash(net: Network): string {
  let h = 0x811c9dc5;
  for (const w of net.parameters().weights) {
    const u = new Uint32Array(w.buffer, w.byteOffset, w.length);
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193) >>> 0;
  }
  return `${net.sizes.join('-')}/${h.toString(16)}`;
}

/** JSON without Infinity turning into null: scores of broken networks are -1e308 on disk. */
function finite(v: number): number {
  return Number.isFinite(v) ? v : v > 0 ? 1e308 : -1e308;
}

function makeOptimizer(algorithm: Algorithm, dim: number, seed: number, popSize?: number): Optimizer {
  return algorithm === 'ga' ? new GeneticAlgorithm(dim, { seed, popSize }) : new CmaEs(dim, { seed, popSize });
}

function restoreOptimizer(s: OptimizerState): Optimizer {
  return s.algorithm === 'ga' ? GeneticAlgorithm.restore(s as GaState) : CmaEs.restore(s as CmaesState);
}

export async function tune(net: Network, data: Dataset | Split, opts: TuneOptions = {}): Promise<TuneResult> {
  const t0 = performance.now();
  if (!(net instanceof Network)) throw new ArgumentError(`Expected a Network for net but received ${describe(net)}`);
  const split = data as Split;
  const train = split && 'train' in split && 'test' in split ? split.train : (data as Dataset);
  const test = split && 'test' in split ? split.test : opts.test;
  const algorithm = expectOneOf(opts.algorithm ?? 'ga', 'algorithm', ALGORITHMS);
  const budget = expectInt(opts.budget ?? 200, 'budget', 1);
  const seed = expectSeed(opts.seed ?? 0);
  const sleepSeed = expectSeed(opts.sleepSeed ?? 1, 'sleepSeed');
  const popSize = opts.popSize === undefined ? undefined : expectInt(opts.popSize, 'popSize', 2);
  const batch = opts.batch === undefined ? Infinity : expectInt(opts.batch, 'batch', 1);
  const signal = opts.signal;

  // One beta per layer of IF neurons (dense, conv, average-pool): 3 for the paper's MLP, 4 for a LeNet.
  const ifLayers = ifLayerCount(net);
  const space = new SearchSpace(ifLayers, opts);
  const objective = await SleepObjective.create(net, train, { ...opts, seed, test, onProgress: undefined });
  const baselineSpec =
    opts.baseline === undefined ? (getPreset('mnist-fgsm').beta.length === ifLayers && net.isMlp ? 'mnist-fgsm' : null) : opts.baseline;
  const fingerprint = JSON.stringify({
    algorithm,
    seed,
    sleepSeed,
    popSize: popSize ?? null,
    objective: objective.describe(),
    space: space.describe(),
    net: weightsHash(net),
    data: [train.name, train.n],
    baseline: baselineSpec,
  });
  const files = opts.out ? tuneFiles(opts.out) : undefined;

  // ---- state: fresh or from the checkpoint ----
  let state: Checkpoint | null = null;
  if (files) {
    let text: string | null = null;
    try {
      text = await readFile(files.checkpoint, 'utf8');
    } catch {
      text = null;
    }
    if (text !== null) {
      const cp = JSON.parse(text) as Checkpoint;
      if (cp.version !== 1 || cp.fingerprint !== fingerprint)
        throw new ValueError(
          `${files.checkpoint} belongs to a search with other settings (network, data, objective, bounds, algorithm or seeds); remove it or choose another out`,
        );
      state = cp;
    }
  }
  const resumed = state !== null;
  const optimizer = state ? restoreOptimizer(state.optimizer) : makeOptimizer(algorithm, space.dim, seed, popSize);
  const scale: Record<string, number[]> = state?.scale ?? {};
  const history: TuneHistory = state?.history ?? {
    algorithm,
    seed,
    sleepSeed,
    budget,
    objective: objective.describe(),
    space: space.describe(),
    control: { name: 'control (no sleep)', ...objective.control },
    baseline: null,
    candidates: [],
    seconds: 0,
  };
  history.budget = budget;
  const secondsBefore = history.seconds;

  async function factorsFor(p: SleepParameters): Promise<number[]> {
    const key = `${p.normalization}/${p.percentile}`;
    if (!scale[key]) {
      const s = await scaleFactors(net, objective.sleepData.x, p.normalization, { percentile: p.percentile, signal });
      scale[key] = s.factors;
    }
    return scale[key];
  }

  /** Sleeps with every parameter set (grouped by input kind, `batch` per native call), then scores. */
  type Run = CandidateRun;
  const objectiveConfig: ObjectiveConfig = {
    objective: opts.objective,
    penalty: opts.penalty,
    tolerance: opts.tolerance,
    valSize: opts.valSize,
    valSplit: opts.valSplit,
    seed,
    loss: opts.loss,
  };
  // Identical parameters (a rounded steps value, a clipped corner) reuse the earlier result: the sleep is deterministic.
  const memo = new Map<string, Run>();
  for (const c of history.candidates)
    memo.set(JSON.stringify(c.parameters), { ev: { score: c.score, clean: c.clean, terms: c.terms }, spikes: c.spikes, changed: c.weightsChanged, seconds: 0 });
  async function run(params: SleepParameters[]): Promise<Run[]> {
    const out: Run[] = new Array(params.length);
    const todo: number[] = [];
    params.forEach((p, i) => {
      const m = memo.get(JSON.stringify(p));
      if (m) out[i] = { ...m, seconds: 0 };
      else todo.push(i);
    });
    const kinds = [...new Set(todo.map((i) => params[i].input))];
    for (const kind of kinds) {
      const idx = todo.filter((i) => params[i].input === kind);
      for (let c = 0; c < idx.length; c += batch === Infinity ? idx.length : batch) {
        const chunk = idx.slice(c, batch === Infinity ? idx.length : c + batch);
        const items: CandidateItem[] = [];
        for (const i of chunk) items.push({ parameters: params[i], scaleFactors: await factorsFor(params[i]) });
        const runs = opts.candidates
          ? await opts.candidates.run(items, { sleepSeed, objective: objectiveConfig, describe: objective.describe(), signal })
          : await sleepAndScore(net, objective, items, sleepSeed, signal);
        chunk.forEach((i, j) => {
          out[i] = runs[j];
          memo.set(JSON.stringify(params[i]), out[i]);
        });
      }
    }
    return out;
  }

  const emit = (generation: number) => {
    const c = history.candidates;
    opts.onProgress?.({
      phase: 'tune',
      done: c.length,
      total: budget,
      generation,
      best: c.length ? c[c.length - 1].bestSoFar : NaN,
      baseline: history.baseline?.score ?? NaN,
    });
  };

  const save = async () => {
    if (!files) return;
    history.seconds = secondsBefore + (performance.now() - t0) / 1000;
    const cp: Checkpoint = { version: 1, fingerprint, optimizer: optimizer.toJSON(), scale, history };
    await writeAtomic(files.checkpoint, JSON.stringify(cp));
    await writeAtomic(files.history, JSON.stringify(history, null, 1));
    const best = bestOf(history.candidates);
    if (best) await writeAtomic(files.preset, presetText(best, history));
  };

  // ---- the baseline preset, scored once with the same data, seed and factors ----
  if (baselineSpec !== null && !history.baseline) {
    const p = resolveParameters(baselineSpec, {}, ifLayers);
    const [r] = await run([p]);
    history.baseline = { name: typeof baselineSpec === 'string' ? baselineSpec : 'given baseline', parameters: p, ...r.ev };
  }

  // ---- the search ----
  let evaluatedNow = 0;
  while (history.candidates.length < budget) {
    throwIfAborted(signal);
    const generation = optimizer.generation;
    const xs = optimizer.ask();
    const take = Math.min(xs.length, budget - history.candidates.length);
    const params = xs.slice(0, take).map((u) => space.decode(u));
    const results = await run(params);
    let best = history.candidates.length ? history.candidates[history.candidates.length - 1].bestSoFar : -Infinity;
    results.forEach((r, i) => {
      best = Math.max(best, r.ev.score);
      history.candidates.push({
        evaluation: history.candidates.length + 1,
        generation,
        unit: xs[i],
        parameters: params[i],
        ...r.ev,
        score: finite(r.ev.score),
        spikes: r.spikes,
        weightsChanged: r.changed,
        sleepSeconds: r.seconds,
        bestSoFar: finite(best),
      });
    });
    evaluatedNow += take;
    // A generation cut short by the budget is recorded but not told (the search ends there).
    if (take === xs.length) optimizer.tell(results.map((r) => -r.ev.score));
    await save();
    emit(generation);
  }
  if (evaluatedNow === 0) await save();
  history.seconds = secondsBefore + (performance.now() - t0) / 1000;
  const best = bestOf(history.candidates)!;
  return { best, history, evaluatedNow, resumed, generations: optimizer.generation, files };
}

function bestOf(c: Candidate[]): Candidate | undefined {
  let b: Candidate | undefined;
  for (const x of c) if (!b || x.score > b.score) b = x;
  return b;
}

/** The preset file: every parameter field (loadPresetFile's format) and a description. */
export function presetText(best: Candidate, h: TuneHistory): string {
  const terms = Object.entries(best.terms)
    .map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`)
    .join(', ');
  const base = h.baseline ? `; ${h.baseline.name} scores ${h.baseline.score.toFixed(4)}` : '';
  const description =
    `nrem tune (${h.algorithm}, seed ${h.seed}, sleep seed ${h.sleepSeed}): candidate ${best.evaluation} of ${h.candidates.length}, ` +
    `validation score ${best.score.toFixed(4)} (${terms}); control ${h.control.score.toFixed(4)}${base}`;
  return JSON.stringify({ description, ...best.parameters }, null, 1) + '\n';
}
