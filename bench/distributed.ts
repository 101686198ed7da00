/**
 * Distributed runs (BullMQ on Redis): a private redis-server on loopback and `nrem worker`
 * processes (from dist/, `--threads 1`: every thread pool of a unit one wide) on THIS machine.
 *
 * - throughput on a study of many short units (paper-patches cut short, several seeds:
 *   ~60 units per seed, 5–400 ms each) with 1 and with 2 workers in five alternating rounds —
 *   the ratio is the speed-up, the median round's is reported beside every round's — and the
 *   local run (no queue) beside them;
 * - per-unit overhead of the queue and the store: (wall of the 1-worker run − the units'
 *   own compute seconds) / units, and a replay of the same unit graph whose units are all
 *   in the store already (each job only checks the store): seconds per unit, no compute;
 * - Redis commands per unit (INFO commandstats, Lua-internal included, before and after the 1-worker run) and the
 *   coordinator's CPU per unit (this process, which coordinates);
 * - the CPU budget of each run, from /proc (bench/proc-cpu.ts): the units' own CPU seconds
 *   (the workers' child processes), the workers' bookkeeping, Redis and the coordinator, per
 *   unit; and how many cores everything else on the machine used meanwhile. The last gives
 *   `machineHeadroom`, the speed-up the cores left to this run allowed: min(2, cores −
 *   others during the 2-worker run) / min(1, cores − others during the 1-worker run). (An
 *   earlier version timed two plain CPU loops against one a few seconds before the 2-worker
 *   run; on this shared machine other sessions get their share of the cores whatever this
 *   one's nice value (Linux autogroup), so a figure taken at another moment said little
 *   about the run itself: 1.15 once, with 1.9 by hand a minute later.)
 * - payload transfer: saving and reading back (sha256-checked) the ONNX bytes of a
 *   784-1200-1200-10 network through the Redis store and the folder store, MB/s.
 * Each worker's first unit pays its child process's start-up: every measured run is
 * preceded by a warm-up run of other seeds. All measured runs compute the same units
 * (seeds 1…SEEDS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetwork } from '../src/train/train.js';
import { toOnnxBytes } from '../src/model/onnx.js';
import { runExperiment } from '../src/experiments/runner.js';
import { buildGraph } from '../src/experiments/graph.js';
import { realOps } from '../src/experiments/ops-real.js';
import { DirStore, type Store } from '../src/experiments/store.js';
import type { ExperimentSpec } from '../src/experiments/spec.js';
import { Coordinator, type Task } from '../src/distributed/coordinator.js';
import { distributedExecutor } from '../src/distributed/experiment.js';
import { RedisStore } from '../src/distributed/redis-store.js';
import { startRedis, type RedisServer } from '../test/helpers/redis-server.js';
import { tinyPatches } from '../test/helpers/small-specs.js';
import type { BenchRow } from './types.js';
import { machineBusySeconds, processSeconds, treeSeconds } from './proc-cpu.js';

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url));
const SEEDS = 4;
const ROUNDS = 5;

function spec(first: number, n: number): ExperimentSpec {
  const s = tinyPatches();
  s.seeds = Array.from({ length: n }, (_, i) => first + i);
  return s;
}

async function worker(url: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, [CLI, 'worker', '--redis', url, '--threads', '1', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Its event lines are read until "ready", then drained unread (keeping and scanning them all
  // cost this process — counted as the coordinator's CPU — half a second a run).
  let onData!: (d: Buffer) => void;
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    onData = (d: Buffer) => {
      buf = (buf + d.toString()).slice(-4096);
      if (buf.includes('"type":"ready"')) resolve();
    };
    p.stdout!.on('data', onData);
    p.once('exit', (code) => reject(new Error(`bench: a worker exited (${code})`)));
  });
  p.stdout!.off('data', onData);
  p.stdout!.resume();
  return p;
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await gone;
}

/** Redis commands executed so far, those inside BullMQ's Lua scripts included (INFO commandstats). */
async function commands(redis: RedisServer): Promise<number> {
  const info = await redis.client().info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

/** Where the CPU went: this process (the coordinator), Redis, the workers and their units' child processes, everything else. */
interface Cpu {
  wall: number;
  busy: number;
  bench: number;
  coordinator: number;
  redis: number;
  workers: number;
  workerProcs: number;
}

function cpuNow(redis: RedisServer, workers: ChildProcess[]): Cpu {
  const sum = (f: (pid: number) => number) => workers.reduce((a, w) => a + f(w.pid!), 0);
  return {
    wall: performance.now() / 1000,
    busy: machineBusySeconds(),
    bench: treeSeconds(process.pid),
    coordinator: processSeconds(process.pid),
    redis: processSeconds(redis.proc.pid!),
    workers: sum(treeSeconds),
    workerProcs: sum(processSeconds),
  };
}

interface CpuUse {
  /** Cores everything outside this benchmark used, on average. */
  othersCores: number;
  /** CPU seconds of the units (the workers' child processes), of the workers' own processes, of Redis, of the coordinator. */
  units: number;
  workers: number;
  redis: number;
  coordinator: number;
}

function cpuSince(a: Cpu, redis: RedisServer, workers: ChildProcess[]): CpuUse {
  const b = cpuNow(redis, workers);
  const d = (k: keyof Cpu) => b[k] - a[k];
  return {
    othersCores: (d('busy') - d('bench')) / d('wall'),
    units: d('workers') - d('workerProcs'),
    workers: d('workerProcs'),
    redis: d('redis'),
    coordinator: d('coordinator'),
  };
}

async function distributedRun(redis: RedisServer, workers: ChildProcess[], s: ExperimentSpec, out: string): Promise<{ wall: number; compute: number; critical: number; units: number; cpu: CpuUse }> {
  const coord = await Coordinator.connect({ redis: redis.url, pollMs: 1000 });
  try {
    const t0 = performance.now();
    const c0 = cpuNow(redis, workers);
    await runExperiment(s, { out, ops: realOps(), executor: distributedExecutor(coord), report: false });
    const cpu = cpuSince(c0, redis, workers);
    const wall = (performance.now() - t0) / 1000;
    const store = new DirStore(out);
    let compute = 0;
    const nodes = buildGraph(s);
    // The longest chain of units (their own wall seconds): no number of workers finishes sooner.
    const chain = new Map<string, number>();
    for (const n of nodes) {
      const w = (await store.get(n.kind, n.key))!.wallSeconds;
      compute += w;
      chain.set(n.key, w + Math.max(0, ...n.deps.map((d) => chain.get(d.key) ?? 0)));
    }
    return { wall, compute, critical: Math.max(...chain.values()), units: nodes.length, cpu };
  } finally {
    await coord.close();
  }
}

/** The unit graph of a finished run submitted again: every job only finds its unit in the store. */
async function replay(url: string, s: ExperimentSpec, out: string): Promise<{ wall: number; units: number }> {
  const coord = await Coordinator.connect({ redis: url, pollMs: 1000 });
  try {
    const nodes = buildGraph(s);
    const tasks: Task[] = nodes.map((n) => ({ name: 'unit', kind: n.kind, key: n.key, label: n.label, body: { spec: s }, deps: n.deps.map((d) => d.key) }));
    const t0 = performance.now();
    await coord.run(tasks, { store: new DirStore(out), onDone: () => {} });
    return { wall: (performance.now() - t0) / 1000, units: nodes.length };
  } finally {
    await coord.close();
  }
}

async function transfer(store: Store, bytes: Uint8Array, reps: number): Promise<{ save: number; read: number }> {
  let save = 0;
  let read = 0;
  for (let i = 0; i < reps; i++) {
    const key = `bench${i.toString(16).padStart(16, '0')}`;
    const t0 = performance.now();
    const rec = await store.save({ key, kind: 'bench', label: 'bench payload', params: {}, inputs: [], wallSeconds: 0, finishedAt: '', value: {} }, [{ ext: 'onnx', data: bytes }]);
    const t1 = performance.now();
    await store.readFile(rec, rec.files[0]);
    const t2 = performance.now();
    save += (t1 - t0) / 1000;
    read += (t2 - t1) / 1000;
  }
  return { save: save / reps, read: read / reps };
}

export async function benchDistributed(): Promise<BenchRow[]> {
  const suite = 'distrib';
  const rows: BenchRow[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'nrem-bench-dist-'));
  const redis = await startRedis();
  const workers: ChildProcess[] = [];
  const note = 'workers, coordinator and Redis on this one shared machine; --threads 1';
  try {
    // Local reference: the same study in this process, no queue (after a warm-up of another seed).
    await runExperiment(spec(3001, 1), { out: join(tmp, 'warm0'), ops: realOps(), report: false });
    const l0 = cpuNow(redis, workers);
    const t0 = performance.now();
    await runExperiment(spec(1, SEEDS), { out: join(tmp, 'local'), ops: realOps(), report: false });
    const local = (performance.now() - t0) / 1000;
    const localCpu = cpuSince(l0, redis, workers);

    // 1 worker, then 2, in ROUNDS alternating rounds (the second worker started and stopped in
    // each): on a shared machine one pair's ratio moves with whatever else runs (1.52x–1.91x in
    // three single-pair runs here), so the row reports every round's ratio and the median
    // round's figures. Each measured run computes the same units (seeds 1…SEEDS) into a fresh
    // folder, after a warm-up of two other seeds (which pushes them out of the workers' caches
    // of data and networks, and starts a new worker's child process).
    workers.push(await worker(redis.url));
    const rounds: { one: Awaited<ReturnType<typeof distributedRun>>; two: Awaited<ReturnType<typeof distributedRun>>; ops: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await distributedRun(redis, workers, spec(1001 + 10 * r, 2), join(tmp, `warm1-${r}`));
      const c0 = await commands(redis);
      const one = await distributedRun(redis, workers, spec(1, SEEDS), join(tmp, `one-${r}`));
      const ops = (await commands(redis)) - c0;
      workers.push(await worker(redis.url));
      await distributedRun(redis, workers, spec(2001 + 10 * r, 2), join(tmp, `warm2-${r}`));
      const two = await distributedRun(redis, workers, spec(1, SEEDS), join(tmp, `two-${r}`));
      await stop(workers.pop()!);
      rounds.push({ one, two, ops });
    }
    const ratios = rounds.map((x) => x.one.wall / x.two.wall);
    const median = [...rounds].sort((a, b) => a.one.wall / a.two.wall - b.one.wall / b.two.wall)[Math.floor(ROUNDS / 2)];
    const { one, two, ops } = median;
    const found = await replay(redis.url, spec(1, SEEDS), join(tmp, `one-0`));

    const units = one.units;
    const cores = cpus().length;
    const headroom = Math.min(2, cores - two.cpu.othersCores) / Math.min(1, cores - one.cpu.othersCores);
    const perUnit = (r: typeof one) => ({
      unitCpuSeconds: r.cpu.units,
      coresPerUnit: r.cpu.units / r.compute,
      criticalPathSeconds: r.critical,
      othersCores: r.cpu.othersCores,
    });
    rows.push({
      suite,
      name: `local run, ${units} short units (patches, ${SEEDS} seeds)`,
      seconds: local,
      figures: { unitsPerSecond: units / local, othersCores: localCpu.othersCores },
      notes: 'one process, no queue, native threads = cores; othersCores = cores the rest of the machine used meanwhile',
    });
    rows.push({
      suite,
      name: `1 worker, ${units} units (median round)`,
      seconds: one.wall,
      ratio: local / one.wall,
      versus: 'local wall / 1-worker wall',
      figures: { unitsPerSecond: units / one.wall, computeSeconds: one.compute, ...perUnit(one) },
      notes: `${note}; computeSeconds = the units' own wall seconds, unitCpuSeconds = their CPU seconds (the workers' child processes)`,
    });
    rows.push({
      suite,
      name: `2 workers, ${two.units} units`,
      seconds: two.wall,
      ratio: one.wall / two.wall,
      versus: `speed-up over 1 worker (median of ${ROUNDS} alternating rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
      figures: { unitsPerSecond: two.units / two.wall, computeSeconds: two.compute, ...perUnit(two), machineHeadroom: headroom, minRatio: Math.min(...ratios), maxRatio: Math.max(...ratios) },
      notes: `${note}; the median round's runs; machineHeadroom = min(2, cores - othersCores of this run) / min(1, cores - othersCores of the 1-worker run): the speed-up the cores left to these runs allowed`,
    });
    const ms = (x: number) => (1000 * x) / units;
    rows.push({
      suite,
      name: 'queue + store overhead per unit (1 worker)',
      seconds: (one.wall - one.compute) / units,
      figures: {
        redisCommandsPerUnit: ops / units,
        coordinatorCpuMsPerUnit: ms(one.cpu.coordinator),
        redisCpuMsPerUnit: ms(one.cpu.redis),
        workerCpuMsPerUnit: ms(one.cpu.workers),
      },
      notes: "(wall - units' compute seconds) / units, folder store; includes releasing dependents. CPU: the coordinator's process, redis-server, the worker's own process (not its units)",
    });
    rows.push({ suite, name: 'a unit already in the store, round trip (1 worker)', seconds: found.wall / found.units, notes: 'the same unit graph submitted again: each job only checks the store' });

    const net = createNetwork('paper', [784, 1200, 1200, 10], 1);
    const bytes = await toOnnxBytes(net);
    const mb = bytes.length / 1e6;
    const rs = new RedisStore(redis.url, 'bench:store');
    const viaRedis = await transfer(rs, bytes, 5);
    await rs.close();
    const viaDir = await transfer(new DirStore(join(tmp, 'payload')), bytes, 5);
    for (const [name, t] of [
      ['Redis store', viaRedis],
      ['folder store', viaDir],
    ] as const) {
      rows.push({ suite, name: `${name}: save a ${mb.toFixed(1)} MB network`, seconds: t.save, figures: { MBps: mb / t.save }, notes: 'MULTI/EXEC or temp file + rename, sha256 of payload and record' });
      rows.push({ suite, name: `${name}: read it back, sha256-checked`, seconds: t.read, figures: { MBps: mb / t.read } });
    }
  } finally {
    for (const w of workers) await stop(w);
    await redis.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}
