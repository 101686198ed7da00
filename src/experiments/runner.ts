/**
 * Runs an experiment: builds the unit graph, checks which units the store already holds
 * (verified: a record or payload that does not match its checksum is recomputed, with what
 * depends on it), computes the others — here, one after the other, or through another
 * `UnitExecutor` (src/distributed: BullMQ workers on many machines) — then aggregates the
 * unit values over seeds into results.json and writes report.md / report.html. Killed or
 * aborted at any point, a new run with the same spec and store redoes nothing that finished.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { head, type Dataset } from '../data/dataset.js';
import type { Network } from '../model/network.js';
import { throwIfAborted, type ProgressEvent, type RunOptions } from '../util/control.js';
import { runtimeInfo } from '../native/runtime.js';
import { buildGraph, type CurveValue, type NetValue, type UnitCtx, type UnitNode, type UnitValue } from './graph.js';
import type { AutoAttackValue, LoadedData, Ops, PerturbationStats, TunedSleep } from './ops.js';
import type { RunEvent } from './progress.js';
import { NETWORK_LABELS, RESULTS_SCHEMA_VERSION, stat, type AutoAttackSummary, type Curve, type NetworkId, type PerturbationResult, type Results } from './results.js';
import { validateSpec, type ExperimentSpec } from './spec.js';
import { DirStore, StoreIntegrityError, type Store, type UnitRecord } from './store.js';
import { writeAtomicSync } from '../util/atomic.js';
import { nremVersion } from '../util/version.js';
import { NremError } from '../errors.js';
import { readInputFile, MODEL_FILE_LIMIT } from '../util/files.js';
import { createHash } from 'node:crypto';

/** Computes the units a run still needs. The default runs them here, in order. */
export interface UnitExecutor {
  /**
   * Computes every node of `todo` (given in dependency order; inputs not in `todo` are
   * finished in the store), saving each to `env.store` and calling `env.done` as each finishes.
   */
  run(todo: UnitNode[], env: ExecutorEnv): Promise<void>;
}

export interface ExecutorEnv {
  spec: ExperimentSpec;
  store: Store;
  /** Verified records of the finished units (filled as units finish). */
  records: Map<string, UnitRecord<UnitValue>>;
  signal?: AbortSignal;
  emit: (e: RunEvent) => void;
  /** Index of a node in the graph (for progress events). */
  indexOf(node: UnitNode): number;
  done(node: UnitNode, rec: UnitRecord<UnitValue>, where?: string): void;
}

export interface RunExperimentOptions {
  /** Output folder: results.json, report.md, report.html (and units/ for the default store). */
  out: string;
  ops: Ops;
  /** Where unit records live (default: a DirStore in `out`). */
  store?: Store;
  /** Who computes the units (default: this process, in order). */
  executor?: UnitExecutor;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /** Write report.md / report.html (default true). */
  report?: boolean;
  /**
   * Told as each stretch of the run ends (reproduce --timings): 'load' (store scan, graph, the
   * data description), 'units' (computing what the store lacks), 'report' (aggregation,
   * report.md / report.html), 'write' (results.json).
   */
  onPhase?: (phase: RunPhase) => void;
}

export type RunPhase = 'load' | 'units' | 'report' | 'write';

export { nremVersion } from '../util/version.js';

/** What one unit needs to run: the spec, the operations, the store, data and networks at hand. */
export interface UnitEnv {
  spec: ExperimentSpec;
  ops: Ops;
  store: Store;
  /** The data of a seed (the caller caches it). */
  data(seed: number): Promise<LoadedData>;
  /** Networks in memory by unit key; a unit's own network is added once it is saved. */
  nets: Map<string, Promise<Network>>;
  /** Verified records by key: inputs are looked up here first, then in the store. */
  records: Map<string, UnitRecord<UnitValue>>;
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
}

/** Computes one unit from its inputs and saves it (payload first, record last). */
export async function computeUnit(node: UnitNode, env: UnitEnv): Promise<UnitRecord<UnitValue>> {
  throwIfAborted(env.signal);
  const { spec, ops, store } = env;
  const ro: RunOptions = { signal: env.signal, onProgress: env.onProgress };
  const ctx: UnitCtx = {
    ops,
    ro,
    data: () => env.data(node.seed),
    evalSet: async (n?: number): Promise<Dataset> => {
      const test = (await env.data(node.seed)).test;
      const m = Math.min(n && n > 0 ? n : Infinity, spec.evaluation.testSize > 0 ? spec.evaluation.testSize : Infinity, test.n);
      return m < test.n ? head(test, m) : test;
    },
    net: (dep: UnitNode) => inputNet(dep, env),
    value: async <T extends UnitValue>(dep: UnitNode) => {
      const rec = env.records.get(dep.key) ?? (await env.store.get<UnitValue>(dep.kind, dep.key));
      if (!rec) throw new StoreIntegrityError(`input "${dep.label}" (${env.store.stem(dep.kind, dep.key)}) is not finished in the store ${env.store.describe()}`);
      return rec.value as T;
    },
  };
  const t1 = performance.now();
  let value: UnitValue, net: Network | undefined;
  try {
    ({ value, net } = await node.run(ctx));
  } catch (err) {
    throw inUnit(node, err);
  }
  const payloads = net ? [{ ext: 'onnx', data: await ops.save(net) }] : [];
  const rec = await store.save<UnitValue>(
    {
      key: node.key,
      kind: node.kind,
      label: node.label,
      params: node.params,
      inputs: node.deps.map((d) => d.key),
      wallSeconds: (performance.now() - t1) / 1000,
      finishedAt: new Date().toISOString(),
      computedBy: `${hostname()}:${process.pid}`,
      value,
    },
    payloads,
  );
  if (net) env.nets.set(node.key, Promise.resolve(net));
  env.records.set(node.key, rec);
  return rec;
}

/** A unit's failure, its message naming the unit: "seed 1 / sleep: sleep needs …" (same class and code). */
export function inUnit(node: UnitNode, err: unknown): unknown {
  if (!(err instanceof NremError) || err.code === 'ERR_ABORTED' || err.message.startsWith(`${node.label}: `)) return err;
  const e = Object.create(Object.getPrototypeOf(err)) as NremError;
  Object.assign(e, err);
  Object.defineProperty(e, 'message', { value: `${node.label}: ${err.message}`, writable: true, configurable: true });
  Object.defineProperty(e, 'stack', { value: `${err.name}: ${node.label}: ${err.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`, writable: true, configurable: true });
  Object.defineProperty(e, 'cause', { value: err, writable: true, configurable: true });
  return e;
}

/** The network an input unit built: from memory, else its verified payload in the store. */
function inputNet(dep: UnitNode, env: UnitEnv): Promise<Network> {
  let p = env.nets.get(dep.key);
  if (!p) {
    p = (async () => {
      const rec = env.records.get(dep.key) ?? (await env.store.get<UnitValue>(dep.kind, dep.key));
      if (!rec) throw new StoreIntegrityError(`input "${dep.label}" (${env.store.stem(dep.kind, dep.key)}) is not finished in the store ${env.store.describe()}`);
      const file = rec.files.find((f) => f.endsWith('.onnx'));
      if (!file) throw new StoreIntegrityError(`unit "${dep.label}" has no network payload in the store ${env.store.describe()}`);
      const bytes = await env.store.readFile(rec, file);
      try {
        return await env.ops.load(bytes);
      } catch (err) {
        throw new StoreIntegrityError(`unit "${dep.label}": payload ${env.store.where(file)} cannot be loaded (${(err as Error).message}); delete it and run again to recompute the unit`, { cause: err });
      }
    })();
    env.nets.set(dep.key, p);
    // A failed load is not cached: the next unit (or attempt) reads the store again.
    p.catch(() => env.nets.get(dep.key) === p && env.nets.delete(dep.key));
  }
  return p;
}

/**
 * Which units the store holds, verified. A unit whose record or payload does not verify is
 * recomputed, and so is everything that depends on it (each such unit named in a warning).
 */
export async function scanStore(nodes: UnitNode[], store: Store, warn: (message: string) => void): Promise<{ records: Map<string, UnitRecord<UnitValue>>; todo: UnitNode[] }> {
  const records = new Map<string, UnitRecord<UnitValue>>();
  const todo: UnitNode[] = [];
  const redo = new Set<string>();
  /** Finished units recomputed only because an input of theirs is. */
  const dragged = new Set<string>();
  const bad: { node: UnitNode; reason: string; file: string }[] = [];
  for (const node of nodes) {
    const r = await store.read<UnitValue>(node.kind, node.key);
    const depRedo = node.deps.some((d) => redo.has(d.key));
    if (r.status === 'ok' && !depRedo) {
      records.set(node.key, r.record);
      continue;
    }
    if (r.status === 'bad') bad.push({ node, reason: r.reason, file: r.file });
    if (r.status === 'ok') dragged.add(node.key);
    if (r.status !== 'missing' || depRedo) redo.add(node.key);
    todo.push(node);
  }
  // A store written by an older nrem (no checksums) would warn once per unit: name a few, count the rest.
  const byReason = new Map<string, number>();
  for (const b of bad) byReason.set(b.reason, (byReason.get(b.reason) ?? 0) + 1);
  const shown = new Map<string, number>();
  for (const b of bad) {
    const k = (shown.get(b.reason) ?? 0) + 1;
    shown.set(b.reason, k);
    if (k > 3) {
      if (k === byReason.get(b.reason)) warn(`store: ${k - 3} more unit${k - 3 > 1 ? 's' : ''} in ${store.describe()}: ${b.reason}; recomputing them and what depends on them`);
      continue;
    }
    const dependents = new Set<string>();
    const grow = (key: string) => {
      for (const n of nodes) if (!dependents.has(n.key) && n.deps.some((d) => d.key === key)) (dependents.add(n.key), grow(n.key));
    };
    grow(b.node.key);
    const n = [...dependents].filter((key) => dragged.has(key)).length;
    warn(`store: unit "${b.node.label}" (${b.file}): ${b.reason}; recomputing it` + (n ? ` and the ${n} finished unit${n > 1 ? 's' : ''} that depend on it` : ''));
  }
  return { records, todo };
}

/** The default executor: every unit in this process, in dependency order. */
export function localExecutor(ops: Ops): UnitExecutor {
  return {
    async run(todo, env) {
      const dataBySeed = new Map<number, Promise<LoadedData>>();
      const nets = new Map<string, Promise<Network>>();
      let currentSeed = -1;
      for (const node of todo) {
        if (node.seed !== currentSeed) {
          // Networks and data of a finished seed are not needed again: free them.
          nets.clear();
          dataBySeed.clear();
          currentSeed = node.seed;
        }
        throwIfAborted(env.signal);
        const index = env.indexOf(node);
        env.emit({ type: 'unit-start', label: node.label, kind: node.kind, index });
        const rec = await computeUnit(node, {
          spec: env.spec,
          ops,
          store: env.store,
          data: (seed) => {
            let p = dataBySeed.get(seed);
            if (!p) dataBySeed.set(seed, (p = ops.loadData(env.spec.data, { quick: env.spec.quick, seed })));
            return p;
          },
          nets,
          records: env.records,
          signal: env.signal,
          onProgress: (p) => env.emit({ type: 'unit-progress', label: node.label, done: p.done, total: p.total, phase: p.phase }),
        });
        env.done(node, rec);
      }
    },
  };
}

/** The spec with the given control's sha256 filled in (read from its file) when it is missing. */
export async function withControlHash(spec: ExperimentSpec): Promise<ExperimentSpec> {
  if (!spec.control || spec.control.sha256) return spec;
  const bytes = await readInputFile(spec.control.model, { maxBytes: MODEL_FILE_LIMIT, what: 'ONNX model' });
  return { ...spec, control: { ...spec.control, sha256: createHash('sha256').update(bytes).digest('hex') } };
}

export async function runExperiment(specIn: ExperimentSpec, opts: RunExperimentOptions): Promise<Results> {
  const spec = await withControlHash(validateSpec(specIn));
  const startedAt = new Date();
  const t0 = performance.now();
  const emit = opts.onEvent ?? (() => {});
  const phase = opts.onPhase ?? (() => {});
  const store = opts.store ?? new DirStore(opts.out);
  // Temp files of a writer still at work (a worker on a shared folder) are left alone.
  await store.cleanTemp(opts.executor ? 10 * 60_000 : 0);
  writeAtomicSync(join(opts.out, 'spec.json'), JSON.stringify(spec, null, 2), { mkdir: true });
  const nodes = buildGraph(spec);
  const index = new Map(nodes.map((n, i) => [n.key, i]));
  emit({ type: 'plan', total: nodes.length, weight: nodes.reduce((a, n) => a + n.weight, 0) });

  const { records, todo } = await scanStore(nodes, store, (message) => emit({ type: 'log', message }));
  phase('load');
  let done = 0;
  const reused = nodes.length - todo.length;
  for (const node of nodes)
    if (records.has(node.key)) emit({ type: 'unit-end', label: node.label, kind: node.kind, reused: true, seconds: 0, index: index.get(node.key)!, weight: node.weight, done: ++done });
  let computed = 0;
  if (todo.length) {
    const env: ExecutorEnv = {
      spec,
      store,
      records,
      signal: opts.signal,
      emit,
      indexOf: (n) => index.get(n.key)!,
      done(node, rec, where) {
        records.set(node.key, rec);
        computed++;
        emit({ type: 'unit-end', label: node.label, kind: node.kind, reused: false, seconds: rec.wallSeconds, index: index.get(node.key)!, weight: node.weight, done: ++done, where });
      },
    };
    // Units that read the user's files (the given control) run here, whoever computes the rest.
    const local = todo.filter((n) => n.local);
    if (local.length && opts.executor) await localExecutor(opts.ops).run(local, env);
    const rest = opts.executor ? todo.filter((n) => !n.local) : todo;
    if (rest.length) await (opts.executor ?? localExecutor(opts.ops)).run(rest, env);
  }
  const missing = nodes.filter((n) => !records.has(n.key));
  if (missing.length) throw new StoreIntegrityError(`internal: ${missing.length} units did not finish (first: "${missing[0].label}")`);
  phase('units');

  // Data description (from the first seed's data).
  const d0 = await opts.ops.loadData(spec.data, { quick: spec.quick, seed: spec.seeds[0] });
  const dataInfo: Results['data'] = { name: d0.train.name, source: spec.data, train: d0.train.n, test: d0.test.n, dims: d0.train.dims, classes: d0.train.classes, note: spec.subsetNote };
  phase('load');
  const controlNode = nodes.find((n) => n.role.type === 'net' && n.role.network === 'control');
  const controlArch = controlNode ? (records.get(controlNode.key)?.value as NetValue | undefined)?.arch : undefined;
  const results = aggregate(spec, nodes, records, {
    controlArch,
    startedAt: startedAt.toISOString(),
    wallSeconds: (performance.now() - t0) / 1000,
    computed,
    reused,
    data: dataInfo,
  });
  phase('report');
  writeAtomicSync(join(opts.out, 'results.json'), JSON.stringify(results, null, 1), { mkdir: true });
  phase('write');
  // Loaded only when wanted: the report's plotting libraries take seconds to import (a worker's child never needs them).
  if (opts.report !== false) await (await import('../report/report.js')).writeReport(results, opts.out);
  phase('report');
  return results;
}

/** Unit values → Results (mean and spread over seeds). */
export function aggregate(
  spec: ExperimentSpec,
  nodes: UnitNode[],
  records: Map<string, UnitRecord<UnitValue>>,
  run: { startedAt: string; wallSeconds: number; computed: number; reused: number; data: Results['data']; controlArch?: string },
): Results {
  const seeds = spec.seeds;
  const val = (n: UnitNode) => records.get(n.key)!.value;
  const bySeed = <T>(filter: (n: UnitNode) => boolean): T[] => seeds.map((s) => nodes.find((n) => n.seed === s && filter(n))).map((n) => (n ? (val(n) as T) : undefined)).filter((v): v is T => v !== undefined);

  const netIds: NetworkId[] = [];
  for (const n of nodes) if (n.role.type === 'net' && !netIds.includes(n.role.network)) netIds.push(n.role.network);
  const control = bySeed<NetValue>((n) => n.role.type === 'net' && n.role.network === 'control');
  const networks = netIds.map((id) => {
    const v = bySeed<NetValue>((n) => n.role.type === 'net' && n.role.network === id);
    return {
      id,
      label: NETWORK_LABELS[id],
      cleanAccuracy: stat(v.map((x) => x.cleanAccuracy)),
      cleanDelta: stat(v.map((x, i) => x.cleanAccuracy - control[i].cleanAccuracy)),
      costSeconds: stat(v.map((x) => x.seconds)),
    };
  });

  const curveMeta: Record<string, { title: string; xLabel: string; n: (e: ExperimentSpec['evaluation'], test: number) => number }> = {
    'fgsm-mse': { title: "FGSM, squared-error loss (the paper's)", xLabel: 'eps', n: (_, t) => t },
    'fgsm-ce': { title: 'FGSM, cross-entropy loss', xLabel: 'eps', n: (_, t) => t },
    noise: { title: 'Gaussian noise', xLabel: 'noise variance', n: (_, t) => t },
    blur: { title: 'Gaussian blur', xLabel: 'blur sigma', n: (_, t) => t },
    pgd: { title: 'PGD (L-inf)', xLabel: 'eps', n: (e, t) => Math.min(e.pgd.n, t) },
    square: { title: 'Square attack (L-inf, gradient-free)', xLabel: 'eps', n: (e, t) => Math.min(e.square.n, t) },
    transfer: { title: 'Transfer: PGD examples from the control', xLabel: 'eps', n: (e, t) => Math.min(e.transfer.n, t) },
  };
  const testN = spec.evaluation.testSize > 0 ? Math.min(spec.evaluation.testSize, run.data.test) : run.data.test;
  const curves: Curve[] = [];
  for (const id of Object.keys(curveMeta)) {
    const ids = netIds.filter((net) => nodes.some((n) => n.role.type === 'curve' && n.role.curve === id && n.role.network === net));
    if (!ids.length) continue;
    let x: number[] = [];
    const series = ids.map((network) => {
      const v = bySeed<CurveValue>((n) => n.role.type === 'curve' && n.role.curve === id && n.role.network === network);
      x = v[0].x;
      return { network, accuracy: x.map((_, j) => stat(v.map((s) => s.accuracy[j]))) };
    });
    const m = curveMeta[id];
    curves.push({ id, title: m.title, xLabel: m.xLabel, x, n: m.n(spec.evaluation, testN), series });
  }

  const perturbations: PerturbationResult[] = [];
  for (const attack of ['deepfool', 'jsma', 'cw'] as const)
    for (const network of netIds) {
      const v = bySeed<PerturbationStats>((n) => n.role.type === 'pert' && n.role.attack === attack && n.role.network === network);
      if (!v.length) continue;
      const opt = (k: keyof PerturbationStats) => (v.every((s) => typeof s[k] === 'number' && Number.isFinite(s[k])) ? stat(v.map((s) => s[k] as number)) : undefined);
      perturbations.push({ attack, network, n: v[0].n, successRate: stat(v.map((s) => s.successRate)), medianL2: opt('medianL2'), meanL2: opt('meanL2'), rho: opt('rho'), medianL0: opt('medianL0'), fractionChanged: opt('fractionChanged') });
    }

  const aaSpec = spec.evaluation.autoattack;
  const autoattack: AutoAttackSummary[] = [];
  for (const network of netIds) {
    const found = nodes.filter((n) => n.role.type === 'autoattack' && n.role.network === network);
    const runs = seeds.map((s) => found.find((n) => n.seed === s)).filter((n): n is UnitNode => n !== undefined);
    const v = runs.map((n) => val(n) as AutoAttackValue);
    if (!v.length || !aaSpec) continue;
    const eps = v[0].eps;
    autoattack.push({
      network,
      n: v[0].n,
      version: aaSpec.version,
      norm: aaSpec.norm,
      eps,
      cleanAccuracy: stat(v.map((x) => x.cleanAccuracy)),
      robust: eps.map((_, e) => stat(v.map((x) => x.robust[e]))),
      stages: v[0].stages.map((s, i) => ({ attack: s.attack, robust: eps.map((_, e) => stat(v.map((x) => x.stages[i].robust[e]))) })),
      warnings: v.flatMap((x, i) => x.checks.filter((c) => c.fired).map((c) => ({ seed: runs[i].seed, eps: c.eps, id: c.id, message: c.message }))),
    });
  }

  const sl = bySeed<NetValue>((n) => n.role.type === 'net' && n.role.network === 'sleep').map((v) => v.sleep!);
  const tu = bySeed<TunedSleep>((n) => n.role.type === 'tune');
  const tuned: Results['sleep']['tuned'] = tu.length
    ? {
        algorithm: tu[0].algorithm,
        budget: tu[0].budget,
        objective: tu[0].objective,
        valRows: tu[0].valRows,
        score: stat(tu.map((t) => t.score)),
        controlScore: stat(tu.map((t) => t.controlScore)),
        baseline: tu[0].baseline ? { name: tu[0].baseline.name, score: stat(tu.map((t) => t.baseline?.score ?? NaN)) } : null,
        parameters: tu.map((t) => t.parameters),
      }
    : undefined;
  const archText = spec.train.arch !== undefined ? (typeof spec.train.arch === 'string' ? spec.train.arch : JSON.stringify(spec.train.arch)) : (spec.train.sizes ?? []).join('-');
  const controlInfo: Results['control'] = spec.control
    ? { source: 'model', model: spec.control.model, sha256: spec.control.sha256 ?? '', recipe: spec.train.recipe, arch: run.controlArch ?? 'the model\'s' }
    : { source: 'trained', recipe: spec.train.recipe, arch: run.controlArch ?? archText };
  const layers = sl[0]?.spikesPerLayer.length ?? 0;
  const mats = sl[0]?.weightsChanged.length ?? 0;
  let info = { threads: 0, gemm: 'unknown' };
  try {
    const ri = runtimeInfo() as unknown as { threads: number; gemm: string };
    info = { threads: ri.threads, gemm: ri.gemm };
  } catch {
    /* addon not loadable: leave unknown */
  }
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    nrem: { version: nremVersion() },
    spec,
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
    wallSeconds: run.wallSeconds,
    units: { computed: run.computed, reused: run.reused },
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, ...info },
    data: run.data,
    control: controlInfo,
    seeds,
    networks,
    curves,
    perturbations,
    ...(autoattack.length ? { autoattack } : {}),
    sleep: {
      preset: spec.sleep.preset,
      input: sl[0]?.input ?? 'unknown',
      steps: sl[0]?.steps ?? 0,
      spikesPerLayer: Array.from({ length: layers }, (_, l) => stat(sl.map((s) => s.spikesPerLayer[l]))),
      weightsChanged: Array.from({ length: mats }, (_, l) => stat(sl.map((s) => s.weightsChanged[l]))),
      ...(sl[0]?.layers ? { layers: [...sl[0].layers] } : {}),
      wallSeconds: stat(sl.map((s) => s.seconds)),
      ...(tuned ? { tuned } : {}),
    },
  };
}
