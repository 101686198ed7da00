/**
 * `nrem reproduce --redis` for real: a private redis-server on loopback, three worker
 * processes (startWorker with sandboxed child processes, from source), and studies whose
 * results.json must equal the local run's, number for number (timing fields aside) — through
 * the folder store and the Redis store, with a worker killed with SIGKILL mid-unit, units
 * that throw or abort their process, a unit delivered twice, a job of another nrem version,
 * the coordinator killed and restarted half-way, and Redis stopped under a running study.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { runExperiment } from '../src/experiments/runner.js';
import { buildGraph } from '../src/experiments/graph.js';
import { realOps } from '../src/experiments/ops-real.js';
import type { ExperimentSpec } from '../src/experiments/spec.js';
import type { Results } from '../src/experiments/results.js';
import type { RunEvent } from '../src/experiments/progress.js';
import { DirStore, type Store } from '../src/experiments/store.js';
import { Coordinator } from '../src/distributed/coordinator.js';
import { distributedExecutor } from '../src/distributed/experiment.js';
import { RedisStore } from '../src/distributed/redis-store.js';
import { parseRedisUrl, RedisError } from '../src/distributed/redis.js';
import { registerWorker } from '../src/cli/commands/worker.js';
import { AbortError, ValueError } from '../src/errors.js';
import { Command } from 'commander';
import { DistributedError, QUEUE_PREFIX, DEFAULT_QUEUE, versionsHere, type JobEnvelope, type JobResult } from '../src/distributed/protocol.js';
import { REDIS_SERVER, SKIP_MESSAGE, freePort, startRedis, type RedisServer } from './helpers/redis-server.js';
import { cli, cliWorker, helperWorker, isAlive, ready, type Proc, type WorkerEventLine } from './helpers/dist-procs.js';
import { smallMnist, tinyPatches, withoutTiming } from './helpers/small-specs.js';

if (!REDIS_SERVER) console.warn(`distributed tests skipped: ${SKIP_MESSAGE}`);

async function until<T>(f: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!REDIS_SERVER)('nrem reproduce on BullMQ workers (real Redis on loopback)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nrem-dist-'));
  let redis: RedisServer;
  let workers: Proc[] = [];
  let refPatches: Results;
  let refMnist: Results;

  beforeAll(async () => {
    redis = await startRedis();
    workers = [0, 1, 2].map(() => helperWorker(redis.url));
    // The local runs to compare with (while the workers start).
    refPatches = await runExperiment(tinyPatches(), { out: join(tmp, 'local-patches'), ops: realOps(), report: false });
    refMnist = await runExperiment(smallMnist(), { out: join(tmp, 'local-mnist'), ops: realOps(), report: false });
    await ready(workers);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Worker events from now on. */
  const mark = () => {
    const at = new Map(workers.map((w) => [w, w.events.length]));
    const of = (w: Proc) => w.events.slice(at.get(w) ?? 0);
    const all = (pred: (e: WorkerEventLine) => boolean = () => true) => workers.flatMap(of).filter(pred);
    return Object.assign(all, { of });
  };

  async function distributed(spec: ExperimentSpec, out: string, store?: Store, coordOpts: { lostAfterMs?: number } = {}, onEvent?: (e: RunEvent) => void): Promise<Results> {
    const coord = await Coordinator.connect({ redis: redis.url, pollMs: 500, backoffMs: 200, ...coordOpts });
    try {
      return await runExperiment(spec, { out, ops: realOps(), store, executor: distributedExecutor(coord), report: false, onEvent });
    } finally {
      await store?.close();
      await coord.close();
    }
  }

  it('paper-patches on 3 workers through the folder store equals the local run', async () => {
    const out = join(tmp, 'dist-patches');
    const spec = tinyPatches();
    const r = await distributed(spec, out);
    const nodes = buildGraph(spec);
    expect(withoutTiming(r)).toEqual(withoutTiming(refPatches));
    expect(r.units).toEqual({ computed: nodes.length, reused: 0 });
    // Computed by the worker processes (not here), and spread over more than one.
    const store = new DirStore(out);
    const by = new Set<string>();
    for (const n of nodes) by.add((await store.get(n.kind, n.key))!.computedBy!);
    expect(by.has(`${hostname()}:${process.pid}`)).toBe(false);
    expect(by.size).toBeGreaterThan(1);
  });

  it('a small MNIST study on 3 workers through the Redis store equals the local run, and writes no unit to disk', async () => {
    const out = join(tmp, 'dist-mnist');
    const spec = smallMnist();
    const seen: RunEvent[] = [];
    const r = await distributed(spec, out, new RedisStore(redis.url, 'test:mnist'), {}, (e) => seen.push(e));
    expect(withoutTiming(r)).toEqual(withoutTiming(refMnist));
    // The progress display hears of a training unit's start (reported at once, however short the
    // training) before its end; every unit ends once.
    const control = buildGraph(spec)[0];
    const startAt = seen.findIndex((e) => e.type === 'unit-start' && e.label === control.label);
    const endAt = seen.findIndex((e) => e.type === 'unit-end' && e.label === control.label);
    expect(startAt).toBeGreaterThanOrEqual(0);
    expect(endAt).toBeGreaterThan(startAt);
    expect(seen.filter((e) => e.type === 'unit-end')).toHaveLength(buildGraph(spec).length);
    expect(existsSync(join(out, 'units'))).toBe(false);
    const keys = await redis.client().keys('test:mnist:rec:*');
    expect(keys).toHaveLength(buildGraph(spec).length);
  });

  it('a worker killed with SIGKILL in the middle of a unit: the stalled check hands the unit on, the results are unchanged', async () => {
    const spec = smallMnist();
    const control = buildGraph(spec)[0];
    const events = mark();
    // The point chosen: the control's first start, held mid-unit by the test's processor until
    // the worker dies (the control's training alone can be over before its first progress report).
    const faults = redis.client();
    await faults.hset('nrem-test:faults', 'train', 'hold:1');
    const run = distributed(spec, join(tmp, 'kill'), new RedisStore(redis.url, 'test:kill'));
    const victim = await until(() => workers.find((w) => events.of(w).some((e) => e.type === 'progress' && e.key === control.key)), 60_000, 'the control to report progress')
      .finally(() => faults.del('nrem-test:faults'));
    const children = victim.children();
    expect(children.length).toBeGreaterThan(0);
    expect(children.every(isAlive)).toBe(true);
    victim.child.kill('SIGKILL');
    try {
      const r = await run;
      expect(withoutTiming(r)).toEqual(withoutTiming(refMnist));
      const doneControl = (w: Proc) => events.of(w).some((e) => e.type === 'done' && e.key === control.key && e.status === 'computed');
      expect(doneControl(victim)).toBe(false); // killed before it finished
      expect(workers.filter((w) => w !== victim).some(doneControl)).toBe(true); // finished by another worker
      // Its sandboxed child noticed the worker's death and stopped (no orphan still computing).
      await until(() => children.every((pid) => !isAlive(pid)), 10_000, "the killed worker's child processes to exit");
    } finally {
      const i = workers.indexOf(victim);
      workers[i] = helperWorker(redis.url);
      await ready([workers[i]]);
    }
  });

  it('a unit that throws once and a child process that aborts are retried; the workers survive and the results are unchanged', async () => {
    const faults = redis.client();
    await faults.hset('nrem-test:faults', 'sleep', 'throw:1', 'eval-noise', 'abort:1');
    const events = mark();
    try {
      const r = await distributed(smallMnist(), join(tmp, 'faults'), new RedisStore(redis.url, 'test:faults'));
      expect(withoutTiming(r)).toEqual(withoutTiming(refMnist));
    } finally {
      await faults.del('nrem-test:faults');
    }
    expect(events((e) => e.type === 'failed' && e.kind === 'sleep' && /injected fault/.test(e.message!)).length).toBeGreaterThan(0);
    expect(events((e) => e.type === 'failed' && e.kind === 'eval-noise' && /SIGABRT/.test(e.message!)).length).toBeGreaterThan(0);
    expect(events((e) => e.type === 'done' && e.kind === 'sleep').length).toBeGreaterThan(0);
    expect(workers.every((w) => w.alive)).toBe(true);
  });

  it('a unit that fails on every attempt fails the run with the worker\'s message; finished units are kept', async () => {
    const faults = redis.client();
    await faults.hset('nrem-test:faults', 'eval-deepfool', 'throw:99');
    const spec = smallMnist();
    try {
      const p = distributed(spec, join(tmp, 'fail'), new RedisStore(redis.url, 'test:fail'));
      await expect(p).rejects.toBeInstanceOf(DistributedError);
      await expect(p).rejects.toThrow(/unit "seed 1 \/ deepfool \/ (control|sleep)".*failed on the workers after 3 attempts: .*injected fault/);
    } finally {
      await faults.del('nrem-test:faults');
    }
    const store = new RedisStore(redis.url, 'test:fail');
    const control = buildGraph(spec)[0];
    expect(await store.get(control.kind, control.key)).toBeDefined();
    await store.close();
  });

  it('a run cancelled through its AbortSignal takes its queued units back; finished units stay in the store', async () => {
    const spec = smallMnist();
    const control = buildGraph(spec)[0];
    const coord = await Coordinator.connect({ redis: redis.url, pollMs: 500 });
    const store = new RedisStore(redis.url, 'test:abort');
    const ac = new AbortController();
    try {
      const run = runExperiment(spec, { out: join(tmp, 'abort'), ops: realOps(), store, executor: distributedExecutor(coord), signal: ac.signal, report: false, onEvent: (e) => e.type === 'unit-end' && ac.abort() });
      await expect(run).rejects.toBeInstanceOf(AbortError);
      expect(await coord.queue.getWaitingCount()).toBe(0);
      expect(await store.get(control.kind, control.key)).toBeDefined();
    } finally {
      await store.close();
      await coord.close();
    }
  });

  describe('jobs put on the queue by hand', () => {
    let queue: Queue<JobEnvelope, JobResult>;
    let qe: QueueEvents;
    beforeAll(async () => {
      const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
      queue = new Queue(DEFAULT_QUEUE, { connection, prefix: QUEUE_PREFIX });
      qe = new QueueEvents(DEFAULT_QUEUE, { connection, prefix: QUEUE_PREFIX });
      await qe.waitUntilReady();
    });
    afterAll(async () => {
      await queue?.close();
      await qe?.close();
    });

    it('a unit delivered twice is harmless: same key, same value, and a third delivery finds it finished', async () => {
      const spec = smallMnist();
      const control = buildGraph(spec)[0];
      const data: JobEnvelope = { v: versionsHere(), store: { type: 'redis', url: redis.url, prefix: 'test:dup' }, kind: control.kind, key: control.key, label: control.label, body: { spec } };
      const [a, b] = await queue.addBulk([
        { name: 'unit', data, opts: { jobId: 'dup-a' } },
        { name: 'unit', data, opts: { jobId: 'dup-b' } },
      ]);
      const [ra, rb] = await Promise.all([a.waitUntilFinished(qe, 60_000), b.waitUntilFinished(qe, 60_000)]);
      expect([ra.status, rb.status]).toContain('computed');
      const store = new RedisStore(redis.url, 'test:dup');
      const rec = (await store.get<{ cleanAccuracy: number }>(control.kind, control.key))!; // verified: record and payload hashes
      const ref = (await new DirStore(join(tmp, 'local-mnist')).get<{ cleanAccuracy: number }>(control.kind, control.key))!;
      expect(rec.value.cleanAccuracy).toBe(ref.value.cleanAccuracy);
      expect(rec.checksum!.files).toEqual(ref.checksum!.files); // the same ONNX bytes
      const c = await queue.add('unit', data, { jobId: 'dup-c' });
      expect((await c.waitUntilFinished(qe, 60_000)).status).toBe('found');
      expect((await store.get(control.kind, control.key))!.finishedAt).toBe(rec.finishedAt);
      await store.close();
    });

    it('a folder store this worker cannot see fails the job with a message saying so (workers never read the coordinator\'s disk)', async () => {
      const spec = smallMnist();
      const control = buildGraph(spec)[0];
      const missing = join(tmp, 'not-shared');
      const data: JobEnvelope = { v: versionsHere(), store: { type: 'dir', path: missing }, kind: control.kind, key: control.key, label: control.label, body: { spec } };
      const job = await queue.add('unit', data, { jobId: 'unshared-1' });
      await expect(job.waitUntilFinished(qe, 60_000)).rejects.toThrow(`the store folder ${join(missing, 'units')} does not exist here (is the shared file system mounted at the same path?)`);
      expect(existsSync(missing)).toBe(false);
    });

    it('a job of another nrem version is refused with a clear message and nothing is written', async () => {
      const spec = smallMnist();
      const control = buildGraph(spec)[0];
      const events = mark();
      const data: JobEnvelope = {
        v: { ...versionsHere(), nrem: '0.0.0-other', store: 99 },
        store: { type: 'redis', url: redis.url, prefix: 'test:old' },
        kind: control.kind,
        key: control.key,
        label: control.label,
        body: { spec },
      };
      const job = await queue.add('unit', data, { jobId: 'old-1' });
      const refused = await until(() => events((e) => e.type === 'refused')[0], 30_000, 'a worker to refuse the job');
      expect(refused.message).toMatch(/submitted by nrem 0\.0\.0-other \(store v99.*this worker runs nrem .* \(store v1.*install the same nrem version on every machine/);
      await until(async () => (await job.getState()) === 'delayed', 10_000, 'the job to go back to the queue, delayed'); // for a worker of that version
      const store = new RedisStore(redis.url, 'test:old');
      expect(await store.has(control.kind, control.key)).toBe(false);
      await store.close();
      await job.remove();
      expect(workers.every((w) => w.alive)).toBe(true);
    });
  });

  it('the coordinator killed with SIGKILL half-way and started again resumes without redoing a finished unit', async () => {
    const spec = tinyPatches();
    const total = buildGraph(spec).length;
    const file = join(tmp, 'patches-spec.json');
    writeFileSync(file, JSON.stringify(spec));
    const out = join(tmp, 'restart');
    const events = mark();
    const args = ['reproduce', '--spec', file, '--out', out, '--redis', redis.url];
    const first = cli(args);
    await first.waitFor(() => (first.stderr.match(/^\[\d+\/\d+\]/gm)?.length ?? 0) >= 15 || undefined, 120_000, 'half of the units');
    first.child.kill('SIGKILL');
    await first.exited;
    const doneBeforeKill = new Set(events((e) => e.type === 'done' && e.status === 'computed').map((e) => e.key));
    const second = cli([...args, '--json']);
    expect(await second.exited).toBe(0);
    const summary = JSON.parse(second.lines[second.lines.length - 1]) as { units: { computed: number; reused: number } };
    expect(summary.units.reused).toBeGreaterThanOrEqual(15);
    expect(summary.units.computed + summary.units.reused).toBe(total);
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    expect(withoutTiming(r)).toEqual(withoutTiming(refPatches));
    // Every unit computed, and no unit finished before the kill computed again (a resubmitted
    // finished unit is "found"). A unit still running on a worker when the coordinator died
    // may be computed a second time by another worker: same key, same value, harmless.
    // (only this study's units: a job of an earlier test still finishing on a worker is not one of them)
    const keys = new Set(buildGraph(spec).map((u) => u.key));
    const computed = events((e) => e.type === 'done' && e.status === 'computed' && keys.has(e.key)).map((e) => e.key);
    expect(new Set(computed).size).toBe(total);
    const again = computed.filter((k, i) => computed.indexOf(k) !== i);
    for (const k of again) expect(doneBeforeKill.has(k), `unit ${k} finished before the kill and was computed again`).toBe(false);
    expect(again.length).toBeLessThanOrEqual(workers.length);
  });

  it('Redis stopped under a running study: the coordinator fails within seconds, naming the URL', async () => {
    const r2 = await startRedis();
    try {
      const coord = await Coordinator.connect({ redis: r2.url, lostAfterMs: 3000, pollMs: 500 });
      const out = join(tmp, 'lost');
      const t0 = Date.now();
      const run = runExperiment(smallMnist(), { out, ops: realOps(), executor: distributedExecutor(coord), report: false });
      run.catch(() => {});
      await new Promise((r) => setTimeout(r, 1000));
      await r2.stop();
      await expect(run).rejects.toBeInstanceOf(RedisError);
      await expect(run).rejects.toThrow(`lost Redis at ${r2.url}`);
      expect(Date.now() - t0).toBeLessThan(20_000); // fails fast: not a hang
      const c0 = Date.now();
      await coord.close();
      expect(Date.now() - c0).toBeLessThan(10_000);
    } finally {
      await r2.stop();
    }
  });

  it('`nrem worker` whose stdout reader has gone keeps running and stops cleanly (no EPIPE crash)', async () => {
    const w = cliWorker(redis.url);
    await ready([w]);
    w.child.stdout!.destroy(); // the log's reader goes away
    w.child.kill('SIGTERM'); // its goodbye line now goes to a closed pipe
    expect(await w.exited).toBe(0);
    expect(w.stderr).not.toMatch(/EPIPE|Unhandled/);
  });

  it('Redis unreachable at the start: a clear error naming the URL, from the API and from `nrem worker`', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await expect(Coordinator.connect({ redis: url })).rejects.toThrow(`cannot reach Redis at ${url}`);
    const w = cliWorker(url);
    expect(await w.exited).toBe(1);
    expect(w.stderr).toContain(`ERR_REDIS: cannot reach Redis at ${url}`);
  });
});

describe('nrem worker and --redis: bad flags are refused before anything connects', () => {
  it('gives typed errors naming the flag', async () => {
    const parse = async (args: string[]) => {
      const program = new Command().exitOverride();
      registerWorker(program);
      return program.parseAsync(['node', 'nrem', 'worker', ...args]);
    };
    await expect(parse(['--redis', 'redis://127.0.0.1:1', '--concurrency', '0'])).rejects.toThrow('Expected an integer in [1, 256] for --concurrency but received "0"');
    await expect(parse(['--redis', 'redis://127.0.0.1:1', '--threads', '2.5'])).rejects.toThrow(ValueError);
    await expect(parse(['--redis', 'localhost:6379'])).rejects.toThrow('Expected a redis:// or rediss:// URL for --redis but received "localhost:6379"');
    expect(parseRedisUrl('redis://:s3cret@10.0.0.5:6380/2')).toMatchObject({ display: 'redis://:***@10.0.0.5:6380/2', options: { host: '10.0.0.5', port: 6380, db: 2, password: 's3cret' } });
  });
});

// Without redis-server the suite above is skipped; this says why in the test report.
if (!REDIS_SERVER) describe('nrem reproduce on BullMQ workers', () => it.skip(`skipped: ${SKIP_MESSAGE}`, () => {}));
