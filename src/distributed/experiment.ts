/**
 * `nrem reproduce --redis`: the experiment's units as BullMQ jobs.
 *
 * Coordinator side, `distributedExecutor`: a UnitExecutor (src/experiments/runner.ts) that
 * hands the units a run still needs to the Coordinator, with their dependencies from the
 * unit graph; the run's store, results.json and report are the local run's.
 *
 * Worker side, `runUnitJob` (called in the sandboxed processor): rebuilds the unit graph
 * from the job's spec, finds the unit by its key, and — unless the store already holds it
 * (a unit delivered twice) — reads its inputs from the store (never from the coordinator's
 * disk), computes it with the same `computeUnit` as a local run, and saves it to the store.
 */
import type { Network } from '../model/network.js';
import type { LoadedData, Ops } from '../experiments/ops.js';
import { buildGraph, type UnitNode, type UnitValue } from '../experiments/graph.js';
import { computeUnit, type UnitExecutor } from '../experiments/runner.js';
import type { ExperimentSpec } from '../experiments/spec.js';
import { StoreIntegrityError, type Store, type UnitRecord } from '../experiments/store.js';
import type { ProgressEvent } from '../util/control.js';
import type { Coordinator, Task } from './coordinator.js';
import { DistributedError, type JobEnvelope } from './protocol.js';

export interface UnitJobBody {
  spec: ExperimentSpec;
}

/** The run's units computed by the workers of `coord`. */
export function distributedExecutor(coord: Coordinator): UnitExecutor {
  return {
    async run(todo, env) {
      const inRun = new Set(todo.map((n) => n.key));
      const byKey = new Map(todo.map((n) => [n.key, n]));
      const body: UnitJobBody = { spec: env.spec };
      const tasks: Task[] = todo.map((n) => ({
        name: 'unit',
        kind: n.kind,
        key: n.key,
        label: n.label,
        body,
        deps: n.deps.filter((d) => inRun.has(d.key)).map((d) => d.key),
      }));
      await coord.run(tasks, {
        store: env.store,
        signal: env.signal,
        onStart: (t) => env.emit({ type: 'unit-start', label: t.label, kind: t.kind, index: env.indexOf(byKey.get(t.key)!) }),
        onProgress: (t, p) => env.emit({ type: 'unit-progress', label: t.label, done: p.done, total: p.total, phase: p.phase }),
        onDone: (t, rec, worker) => env.done(byKey.get(t.key)!, rec as UnitRecord<UnitValue>, worker),
        onLog: (message) => env.emit({ type: 'log', message }),
      });
    },
  };
}

/** A Map that keeps its `max` most recently set entries. */
export class Recent<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(k: K, v: V): this {
    if (this.has(k)) this.delete(k);
    super.set(k, v);
    while (this.size > this.max) this.delete(this.keys().next().value as K);
    return this;
  }
}

/** What a worker's child process keeps between jobs: graphs, data and networks (all content-addressed). */
export interface WorkerCache {
  ops: Ops;
  graphs: Recent<string, UnitNode[]>;
  data: Recent<string, Promise<LoadedData>>;
  nets: Recent<string, Promise<Network>>;
}

export function workerCache(ops: Ops): WorkerCache {
  return { ops, graphs: new Recent(4), data: new Recent(2), nets: new Recent(6) };
}

/** Computes the unit a job names (see the header). Returns 'found' when the store already held it. */
export async function runUnitJob(
  job: JobEnvelope<UnitJobBody>,
  ctx: { store: Store; cache: WorkerCache; signal?: AbortSignal; onProgress?: (p: ProgressEvent) => void },
): Promise<'computed' | 'found'> {
  const { spec } = job.body;
  const { store, cache } = ctx;
  // The job's spec as sent is the cache key (the same spec in another key order only misses the cache).
  const specKey = JSON.stringify(spec);
  let nodes = cache.graphs.get(specKey);
  if (!nodes) cache.graphs.set(specKey, (nodes = buildGraph(spec)));
  const node = nodes.find((n) => n.key === job.key && n.kind === job.kind);
  if (!node) throw new DistributedError(`unit "${job.label}" (${job.kind}-${job.key}) is not in the unit graph this nrem builds from the job's spec`);
  if ((await store.read(node.kind, node.key)).status === 'ok') return 'found';
  const records = new Map<string, UnitRecord<UnitValue>>();
  for (const dep of node.deps) {
    const r = await store.read<UnitValue>(dep.kind, dep.key, { payloads: 'size' });
    if (r.status !== 'ok')
      throw new StoreIntegrityError(
        `input "${dep.label}" of unit "${node.label}" is ${r.status === 'missing' ? 'not' : `bad (${r.reason}: ${r.file})`} in the store ${store.describe()}`,
      );
    records.set(dep.key, r.record);
  }
  const dataKey = (seed: number) => `${spec.data}|${spec.quick}|${seed}`;
  await computeUnit(node, {
    spec,
    ops: cache.ops,
    store,
    data: (seed) => {
      let p = cache.data.get(dataKey(seed));
      if (!p) {
        cache.data.set(dataKey(seed), (p = cache.ops.loadData(spec.data, { quick: spec.quick, seed })));
        p.catch(() => cache.data.delete(dataKey(seed)));
      }
      return p;
    },
    nets: cache.nets,
    records,
    signal: ctx.signal,
    onProgress: ctx.onProgress,
  });
  return 'computed';
}
