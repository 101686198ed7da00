/**
 * Runs an experiment: builds the unit graph, computes every unit not already finished in
 * the store (DIR/units), then aggregates the unit values over seeds into results.json and
 * writes report.md / report.html. Killed or aborted at any point, a new run with the same
 * spec and folder redoes nothing that finished.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { head, type Dataset } from '../data/dataset.js';
import type { Network } from '../model/network.js';
import { throwIfAborted, type RunOptions } from '../util/control.js';
import { runtimeInfo } from '../native/runtime.js';
import { buildGraph, type CurveValue, type NetValue, type UnitNode, type UnitValue } from './graph.js';
import type { AutoAttackValue, LoadedData, Ops, PerturbationStats } from './ops.js';
import type { RunEvent } from './progress.js';
import { NETWORK_LABELS, RESULTS_SCHEMA_VERSION, stat, type AutoAttackSummary, type Curve, type NetworkId, type PerturbationResult, type Results } from './results.js';
import { validateSpec, type ExperimentSpec } from './spec.js';
import { UnitStore, type UnitRecord } from './store.js';
import { writeAtomicSync } from '../util/atomic.js';
import { writeReport } from '../report/report.js';

export interface RunExperimentOptions {
  /** Output folder: units/, results.json, report.md, report.html. */
  out: string;
  ops: Ops;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /** Write report.md / report.html (default true). */
  report?: boolean;
}

function nremVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    for (const p of ['../../package.json', '../../../package.json']) {
      try {
        return (require(p) as { version: string }).version;
      } catch {
        /* next */
      }
    }
  } catch {
    /* fall through */
  }
  return 'unknown';
}

export async function runExperiment(specIn: ExperimentSpec, opts: RunExperimentOptions): Promise<Results> {
  const spec = validateSpec(specIn);
  const startedAt = new Date();
  const t0 = performance.now();
  const emit = opts.onEvent ?? (() => {});
  const store = new UnitStore(opts.out);
  store.cleanTemp();
  writeAtomicSync(join(opts.out, 'spec.json'), JSON.stringify(spec, null, 2), { mkdir: true });
  const nodes = buildGraph(spec);
  emit({ type: 'plan', total: nodes.length, weight: nodes.reduce((a, n) => a + n.weight, 0) });

  const dataBySeed = new Map<number, Promise<LoadedData>>();
  const loadData = (seed: number) => {
    let p = dataBySeed.get(seed);
    if (!p) {
      p = opts.ops.loadData(spec.data, { quick: spec.quick, seed });
      dataBySeed.set(seed, p);
    }
    return p;
  };
  const nets = new Map<string, Promise<Network>>();
  const records = new Map<string, UnitRecord<UnitValue>>();
  let computed = 0;
  let reused = 0;
  let dataInfo: Results['data'] | undefined;
  let currentSeed = -1;

  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (node.seed !== currentSeed) {
      // Networks of a finished seed are not needed again: free them.
      nets.clear();
      for (const s of [...dataBySeed.keys()]) if (s !== node.seed) dataBySeed.delete(s);
      currentSeed = node.seed;
    }
    const found = store.get<UnitValue>(node.kind, node.key);
    if (found) {
      records.set(node.key, found);
      reused++;
      emit({ type: 'unit-end', label: node.label, kind: node.kind, reused: true, seconds: 0, index: i, weight: node.weight });
      continue;
    }
    throwIfAborted(opts.signal);
    emit({ type: 'unit-start', label: node.label, kind: node.kind, index: i });
    const ro: RunOptions = {
      signal: opts.signal,
      onProgress: (p) => emit({ type: 'unit-progress', label: node.label, done: p.done, total: p.total, phase: p.phase }),
    };
    const ctx = {
      ops: opts.ops,
      ro,
      data: () => loadData(node.seed),
      evalSet: async (n?: number): Promise<Dataset> => {
        const test = (await loadData(node.seed)).test;
        const m = Math.min(n && n > 0 ? n : Infinity, spec.evaluation.testSize > 0 ? spec.evaluation.testSize : Infinity, test.n);
        return m < test.n ? head(test, m) : test;
      },
      net: (dep: UnitNode) => netOf(dep),
    };
    const netOf = (dep: UnitNode): Promise<Network> => {
      let p = nets.get(dep.key);
      if (!p) {
        const rec = records.get(dep.key) ?? store.get(dep.kind, dep.key);
        if (!rec) throw new Error(`internal: unit ${dep.label} used before it finished`);
        const file = rec.files.find((f) => f.endsWith('.onnx'))!;
        p = opts.ops.load(new Uint8Array(readFileSync(join(store.dir, file))));
        nets.set(dep.key, p);
      }
      return p;
    };
    const t1 = performance.now();
    const { value, net } = await node.run(ctx);
    const files: string[] = [];
    if (net) {
      files.push(store.putFile(node.kind, node.key, 'onnx', await opts.ops.save(net)));
      nets.set(node.key, Promise.resolve(net));
    }
    const seconds = (performance.now() - t1) / 1000;
    const rec: UnitRecord<UnitValue> = {
      key: node.key,
      kind: node.kind,
      label: node.label,
      params: node.params,
      inputs: node.deps.map((d) => d.key),
      files,
      wallSeconds: seconds,
      finishedAt: new Date().toISOString(),
      value,
    };
    store.finish(rec);
    records.set(node.key, rec);
    computed++;
    emit({ type: 'unit-end', label: node.label, kind: node.kind, reused: false, seconds, index: i, weight: node.weight });
  }

  // Data description (from the first seed's data; loaded only for it).
  const d0 = await loadData(spec.seeds[0]);
  dataInfo = { name: d0.train.name, train: d0.train.n, test: d0.test.n, dims: d0.train.dims, classes: d0.train.classes, note: spec.subsetNote };
  const results = aggregate(spec, nodes, records, {
    startedAt: startedAt.toISOString(),
    wallSeconds: (performance.now() - t0) / 1000,
    computed,
    reused,
    data: dataInfo,
  });
  writeAtomicSync(join(opts.out, 'results.json'), JSON.stringify(results, null, 1), { mkdir: true });
  if (opts.report !== false) await writeReport(results, opts.out);
  return results;
}

/** Unit values → Results (mean and spread over seeds). */
export function aggregate(
  spec: ExperimentSpec,
  nodes: UnitNode[],
  records: Map<string, UnitRecord<UnitValue>>,
  run: { startedAt: string; wallSeconds: number; computed: number; reused: number; data: Results['data'] },
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
      wallSeconds: stat(sl.map((s) => s.seconds)),
    },
  };
}
