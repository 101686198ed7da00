/**
 * Distributed runs (BullMQ on Redis): a private redis-server on loopback and `nrem worker`
 * processes (from dist/, one native thread per unit) on THIS machine.
 *
 * - throughput on a study of many short units (paper-patches cut short, several seeds:
 *   ~56 units per seed, 5–400 ms each) with 1 and with 2 workers — the ratio is the
 *   speed-up — and the local run (no queue) beside them;
 * - per-unit overhead of the queue and the store: (wall of the 1-worker run − the units'
 *   own compute seconds) / units, and a replay of the same unit graph whose units are all
 *   in the store already (each job only checks the store): seconds per unit, no compute;
 * - Redis commands per unit (INFO commandstats, Lua-internal included, before and after the 1-worker run) and the
 *   coordinator's CPU per unit (this process, which coordinates);
 * - how much parallelism the machine has at the time: two plain CPU-bound processes against
 *   one (on a shared machine, the ceiling of any 2-worker speed-up);
 * - payload transfer: saving and reading back (sha256-checked) the ONNX bytes of a
 *   784-1200-1200-10 network through the Redis store and the folder store, MB/s.
 * Each worker's first unit pays its child process's start-up: every measured run is
 * preceded by a warm-up run of other seeds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url));
const SEEDS = 4;

function spec(first: number, n: number): ExperimentSpec {
  const s = tinyPatches();
  s.seeds = Array.from({ length: n }, (_, i) => first + i);
  return s;
}

async function worker(url: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, [CLI, 'worker', '--redis', url, '--threads', '1', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('"type":"ready"')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`bench: a worker exited (${code})`)));
  });
  p.stdout!.resume();
  return p;
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await gone;
}

/**
 * What the machine gives two CPU-bound processes at this moment, against one: 2·t1/t2 for a
 * fixed busy loop (2.0 on two idle cores; less when other work shares them).
 */
async function parallelHeadroom(): Promise<number> {
  const loop = 'let x=0;for(let i=0;i<3e8;i++)x+=Math.sqrt(i);if(x<0)console.log(x)';
  const run = async (n: number) => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => new Promise((r) => spawn(process.execPath, ['-e', loop], { stdio: 'ignore' }).once('exit', r))));
    return (performance.now() - t0) / 1000;
  };
  const t1 = await run(1);
  const t2 = await run(2);
  return (2 * t1) / t2;
}

/** Redis commands executed so far, those inside BullMQ's Lua scripts included (INFO commandstats). */
async function commands(redis: RedisServer): Promise<number> {
  const info = await redis.client().info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

async function distributedRun(url: string, s: ExperimentSpec, out: string): Promise<{ wall: number; compute: number; units: number; cpuMs: number }> {
  const coord = await Coordinator.connect({ redis: url, pollMs: 1000 });
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await runExperiment(s, { out, ops: realOps(), executor: distributedExecutor(coord), report: false });
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - t0) / 1000;
    const store = new DirStore(out);
    let compute = 0;
    const nodes = buildGraph(s);
    for (const n of nodes) compute += (await store.get(n.kind, n.key))!.wallSeconds;
    return { wall, compute, units: nodes.length, cpuMs: (cpu.user + cpu.system) / 1000 };
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
  const note = 'workers, coordinator and Redis on this one shared, loaded machine; 1 native thread per unit';
  try {
    // Local reference: the same study in this process, no queue.
    const t0 = performance.now();
    await runExperiment(spec(1, SEEDS), { out: join(tmp, 'local'), ops: realOps(), report: false });
    const local = (performance.now() - t0) / 1000;

    workers.push(await worker(redis.url));
    await distributedRun(redis.url, spec(1001, 1), join(tmp, 'warm1'));
    const c0 = await commands(redis);
    const one = await distributedRun(redis.url, spec(1, SEEDS), join(tmp, 'one'));
    const ops = (await commands(redis)) - c0;
    const found = await replay(redis.url, spec(1, SEEDS), join(tmp, 'one'));

    workers.push(await worker(redis.url));
    await distributedRun(redis.url, spec(2001, 2), join(tmp, 'warm2'));
    const headroom = await parallelHeadroom();
    const two = await distributedRun(redis.url, spec(101, SEEDS), join(tmp, 'two'));

    const units = one.units;
    rows.push({ suite, name: `local run, ${units} short units (patches, ${SEEDS} seeds)`, seconds: local, figures: { unitsPerSecond: units / local }, notes: 'one process, no queue' });
    rows.push({
      suite,
      name: `1 worker, ${units} units`,
      seconds: one.wall,
      ratio: local / one.wall,
      versus: 'local wall / 1-worker wall',
      figures: { unitsPerSecond: units / one.wall, computeSeconds: one.compute },
      notes: note,
    });
    rows.push({
      suite,
      name: `2 workers, ${two.units} units`,
      seconds: two.wall,
      ratio: one.wall / two.wall,
      versus: 'speed-up over 1 worker',
      figures: { unitsPerSecond: two.units / two.wall, computeSeconds: two.compute, machineHeadroom: headroom },
      notes: `${note}; machineHeadroom = what two plain CPU-bound processes got against one, measured just before (2 on two idle cores)`,
    });
    rows.push({
      suite,
      name: 'queue + store overhead per unit (1 worker)',
      seconds: (one.wall - one.compute) / units,
      figures: { redisCommandsPerUnit: ops / units, coordinatorCpuMsPerUnit: one.cpuMs / units },
      notes: '(wall - units\' compute seconds) / units, folder store; includes releasing dependents',
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
