/**
 * The coordinator of a distributed run (`nrem reproduce --redis`, `nrem tune --redis`): puts
 * units on a BullMQ queue as their inputs finish and follows them to the store.
 *
 * Dependencies are the coordinator's business: a unit is enqueued only when every unit it
 * reads is finished in the store. Each unit is ONE BullMQ job whose id is a hash of (store,
 * kind, key), so submitting it again (a restarted coordinator, two runs sharing units) adds
 * nothing. A unit counts as finished when its record is in the store, never because a job
 * says so: on a job's `completed` event the coordinator reads the record (checking its
 * payloads' sizes; the workers that read a payload check its hash), and a poll every few
 * seconds catches what events missed (a coordinator restarted while workers went on). A
 * job that fails after its attempts fails the run with the worker's message; a Redis that
 * stops answering fails it within `lostAfterMs` (RedisError naming the URL).
 */
import { Queue, QueueEvents, type JobType } from 'bullmq';
import { AbortError } from '../errors.js';
import type { Store, UnitRecord } from '../experiments/store.js';
import { bullConnection, checkRedis, parseRedisUrl, RedisError, watchRedis, type RedisTarget } from './redis.js';
import { DEFAULT_QUEUE, DistributedError, jobIdOf, QUEUE_PREFIX, versionsHere, type JobEnvelope, type JobName, type JobProgress, type JobResult } from './protocol.js';

export interface CoordinatorOptions {
  /** redis://host:port of the queue. */
  redis: string;
  /** Queue name (default "units"): coordinators and workers of one cluster share it. */
  queue?: string;
  /** Attempts per unit before the run fails (default 3). */
  attempts?: number;
  /** First retry delay, doubled each attempt (default 1000 ms). */
  backoffMs?: number;
  /** A Redis that does not answer for this long fails the run (default 5000 ms). */
  lostAfterMs?: number;
  /** Reconciliation poll of the store and the queue (default 2000 ms). */
  pollMs?: number;
}

export interface Task {
  name: JobName;
  kind: string;
  key: string;
  label: string;
  body: unknown;
  /** Keys of tasks of the same run that must finish first. */
  deps: string[];
}

export interface TaskHooks {
  store: Store;
  signal?: AbortSignal;
  onStart?(t: Task, worker: string): void;
  onProgress?(t: Task, p: { done: number; total: number; phase?: string }): void;
  onDone(t: Task, rec: UnitRecord, worker?: string): void;
  onLog?(message: string): void;
}

/** BullMQ states of a job that is queued or running (a finished job is removed: removeOnComplete / removeOnFail). */
const LIVE_STATES: JobType[] = ['active', 'waiting', 'delayed', 'prioritized', 'waiting-children'];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Runs `f`, giving up after `ms` (for closing connections to a Redis that may be gone). */
async function within(ms: number, f: () => Promise<unknown>): Promise<void> {
  await Promise.race([f().catch(() => {}), sleep(ms)]);
}

export class Coordinator {
  readonly target: RedisTarget;
  readonly queue: Queue;
  readonly events: QueueEvents;
  private readonly opts: Required<Omit<CoordinatorOptions, 'redis' | 'queue'>>;

  private constructor(target: RedisTarget, queue: Queue, events: QueueEvents, opts: CoordinatorOptions) {
    this.target = target;
    this.queue = queue;
    this.events = events;
    this.opts = { attempts: opts.attempts ?? 3, backoffMs: opts.backoffMs ?? 1000, lostAfterMs: opts.lostAfterMs ?? 5000, pollMs: opts.pollMs ?? 2000 };
  }

  /** Checks that Redis answers (RedisError naming the URL within a few seconds if not), then opens the queue. */
  static async connect(o: CoordinatorOptions): Promise<Coordinator> {
    await checkRedis(o.redis);
    const target = parseRedisUrl(o.redis);
    const connection = bullConnection(target);
    const name = o.queue ?? DEFAULT_QUEUE;
    const queue = new Queue(name, { connection, prefix: QUEUE_PREFIX });
    const events = new QueueEvents(name, { connection, prefix: QUEUE_PREFIX });
    queue.on('error', () => {});
    events.on('error', () => {});
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new Coordinator(target, queue, events, o);
  }

  /** Enqueues `tasks` as their deps finish and resolves when every one is finished in `hooks.store`. */
  async run(tasks: Task[], hooks: TaskHooks): Promise<void> {
    const { store, signal } = hooks;
    const log = hooks.onLog ?? (() => {});
    const loc = store.location;
    const keys = new Set(tasks.map((t) => t.key));
    const blockers = new Map<string, number>();
    const dependents = new Map<string, Task[]>();
    for (const t of tasks) {
      const deps = t.deps.filter((d) => keys.has(d));
      blockers.set(t.key, deps.length);
      for (const d of deps) {
        let list = dependents.get(d);
        if (!list) dependents.set(d, (list = []));
        list.push(t);
      }
    }
    const v = versionsHere();
    const inflight = new Map<string, Task>();
    const workerOf = new Map<string, string>();
    const reported = new Set<string>();
    const misses = new Map<string, number>();
    let finished = 0;
    let failure: Error | undefined;
    let dirty = false;
    let wake = () => {};
    const poke = () => {
      dirty = true;
      wake();
    };

    const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => {
      if (!inflight.has(jobId)) return;
      const r = (typeof returnvalue === 'string' ? safeParse(returnvalue) : returnvalue) as JobResult | undefined;
      if (r?.worker) workerOf.set(jobId, r.worker);
      reported.add(jobId);
      poke();
    };
    const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
      const t = inflight.get(jobId);
      if (!t) return;
      failure = new DistributedError(
        `unit "${t.label}" (${store.stem(t.kind, t.key)}) failed on the workers after ${this.opts.attempts} attempt${this.opts.attempts > 1 ? 's' : ''}: ${failedReason}; finished units are kept in ${store.describe()}`,
      );
      poke();
    };
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
      const t = inflight.get(jobId);
      const p = data as JobProgress;
      if (!t || !p || typeof p !== 'object') return;
      if (p.type === 'start') {
        workerOf.set(jobId, p.worker);
        hooks.onStart?.(t, p.worker);
      } else if (p.type === 'progress') hooks.onProgress?.(t, p);
      else if (p.type === 'refused') log(`worker ${p.worker} refused unit "${t.label}": ${p.message}`);
    };
    this.events.on('completed', onCompleted);
    this.events.on('failed', onFailed);
    this.events.on('progress', onProgress);
    // Queue commands wait for ever while Redis is away: each is raced against the watch's verdict.
    let rejectLost: (e: Error) => void = () => {};
    const lost = new Promise<never>((_, reject) => (rejectLost = reject));
    lost.catch(() => {});
    const q = <T>(p: Promise<T>): Promise<T> => Promise.race([p, lost]);
    const stopWatch = watchRedis(this.target.url, (err) => ((failure = err), rejectLost(err), poke()), { lostAfterMs: this.opts.lostAfterMs });
    signal?.addEventListener('abort', poke);

    const idOf = (t: Task) => jobIdOf(loc, t.kind, t.key);
    const enqueue = async (ts: Task[]) => {
      if (!ts.length) return;
      const jobs = ts.map((t) => {
        const jobId = idOf(t);
        inflight.set(jobId, t);
        const data: JobEnvelope = { v, store: loc, kind: t.kind, key: t.key, label: t.label, body: t.body };
        return {
          name: t.name,
          data,
          opts: { jobId, attempts: this.opts.attempts, backoff: { type: 'exponential', delay: this.opts.backoffMs }, removeOnComplete: true, removeOnFail: true },
        };
      });
      await q(this.queue.addBulk(jobs));
    };
    /**
     * A unit a worker says is done (`fromEvent`) or whose record the poll found: done when its
     * record is in the store and verifies. (A record found by the poll may be the bad one the
     * run is recomputing: not done yet.)
     */
    const settle = async (jobId: string, fromEvent: boolean): Promise<void> => {
      const t = inflight.get(jobId);
      if (!t) return;
      const r = await q(store.read(t.kind, t.key, { payloads: 'size' }));
      if (!fromEvent && r.status !== 'ok') return;
      if (r.status === 'bad') throw new DistributedError(`unit "${t.label}" was saved by ${workerOf.get(jobId) ?? 'a worker'} but does not verify in the store (${r.file}): ${r.reason}`);
      if (r.status === 'missing') {
        // A shared file system may show a new file a moment late; more than a few polls is a store the worker does not share.
        const n = (misses.get(jobId) ?? 0) + 1;
        misses.set(jobId, n);
        if (n > 5)
          throw new DistributedError(
            `worker ${workerOf.get(jobId) ?? '?'} finished unit "${t.label}" but its record is not in the store ${store.describe()}: does every worker reach this same store (a shared folder at the same path, or --store redis)?`,
          );
        return;
      }
      inflight.delete(jobId);
      reported.delete(jobId);
      finished++;
      hooks.onDone(t, r.record, workerOf.get(jobId));
      const next: Task[] = [];
      for (const d of dependents.get(t.key) ?? []) {
        const n = blockers.get(d.key)! - 1;
        blockers.set(d.key, n);
        if (n === 0) next.push(d);
      }
      await enqueue(next);
    };

    let lastPoll = Date.now();
    let polls = 0;
    let warnedIdle = false;
    try {
      await enqueue(tasks.filter((t) => blockers.get(t.key) === 0));
      while (finished < tasks.length) {
        if (failure) throw failure;
        if (signal?.aborted) throw new AbortError();
        if (!dirty && Date.now() - lastPoll < this.opts.pollMs)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.opts.pollMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        dirty = false;
        for (const id of [...reported]) await settle(id, true);
        if (Date.now() - lastPoll >= this.opts.pollMs) {
          lastPoll = Date.now();
          polls++;
          // Missed events. One call lists every job still queued or running (one Lua script,
          // atomic); a unit whose job is not among them has finished — its record is in the
          // store — or vanished without one (checked every 5th poll, giving events time).
          // Per poll: one Redis call and a store read per vanished job, not a call per unit.
          const live = new Set(await q(this.queue.getRanges(LIVE_STATES, 0, -1)));
          const lost = [];
          for (const [id, t] of [...inflight]) {
            if (reported.has(id) || live.has(id) || !inflight.has(id)) continue;
            if (await q(store.has(t.kind, t.key))) await settle(id, false);
            else if (polls % 5 === 0) lost.push(t);
          }
          if (polls % 5 === 0) {
            for (const t of lost) inflight.delete(idOf(t));
            await enqueue(lost);
            if (!warnedIdle && inflight.size > 0 && (await q(this.queue.getWorkersCount())) === 0) {
              warnedIdle = true;
              log(`no nrem worker is connected to ${this.target.display}; start some with: nrem worker --redis ${this.target.display}`);
            }
          }
        }
      }
    } catch (err) {
      // A failed or cancelled run takes back its queued units (started ones finish into the store).
      if (!(err instanceof RedisError)) await this.withdraw([...inflight.keys()]);
      throw err;
    } finally {
      this.events.off('completed', onCompleted);
      this.events.off('failed', onFailed);
      this.events.off('progress', onProgress);
      stopWatch();
      signal?.removeEventListener('abort', poke);
    }
  }

  /** Takes back queued (not started) jobs of a cancelled run; started ones finish into the store. */
  private async withdraw(ids: string[]): Promise<void> {
    await within(3000, async () => {
      for (const id of ids) await this.queue.remove(id).catch(() => 0);
    });
  }

  /** Closes the queue connections (giving up after a few seconds when Redis is gone). */
  async close(): Promise<void> {
    await within(2000, () => Promise.all([this.queue.close(), this.events.close()]));
    await within(1000, () => Promise.all([this.queue.disconnect(), this.events.disconnect()]));
  }
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
