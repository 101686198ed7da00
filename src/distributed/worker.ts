/**
 * `nrem worker --redis URL`: takes units from the queue and runs each in a sandboxed child
 * process (src/distributed/processor.ts). The worker process itself does only BullMQ's
 * bookkeeping — fetching jobs, renewing their locks, and checking for jobs whose worker died
 * (a job whose lock was not renewed for `lockDurationMs` is "stalled": the next stalled
 * check, every `stalledIntervalMs`, puts it back on the queue for another worker).
 *
 * Redis unreachable at start: RedisError naming the URL within a few seconds. Redis lost
 * later: the worker says so, keeps retrying, and goes on when Redis is back.
 */
import { cpus, hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, type Job } from 'bullmq';
import { expectInt } from '../util/validate.js';
import { bullConnection, checkRedis, parseRedisUrl } from './redis.js';
import { DEFAULT_QUEUE, QUEUE_PREFIX, type JobEnvelope, type JobProgress, type JobResult } from './protocol.js';

export interface WorkerOptions {
  redis: string;
  /** Queue name (default "units"). */
  queue?: string;
  /** Units at once, each in its own child process (default 1). */
  concurrency?: number;
  /**
   * Threads per unit (default: the cores divided by the concurrency): the width of every
   * thread pool a unit runs — the native core's (which also runs OpenBLAS's tiles) and
   * ONNX Runtime's intra-op pool, which takes the native count as its default — so
   * `concurrency` × `threads` units of work never ask for more cores than that.
   */
  threads?: number;
  /** A running unit's lock lives this long without renewal (default 30,000 ms). */
  lockDurationMs?: number;
  /** How often this worker looks for stalled units of dead workers (default 30,000 ms). */
  stalledIntervalMs?: number;
  /** Times a unit may stall (its worker die) before it fails (default 2). */
  maxStalledCount?: number;
  /** The processor file run in the child processes (default: nrem's own). */
  processorFile?: string;
  onEvent?: (e: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: 'ready'; worker: string; queue: string; redis: string; concurrency: number; threads: number }
  | { type: 'start'; key: string; kind: string; label: string; attempt: number }
  | { type: 'progress'; key: string; label: string; done: number; total: number; phase?: string }
  | { type: 'done'; key: string; kind: string; label: string; status: JobResult['status']; seconds: number }
  | { type: 'failed'; key: string; kind: string; label: string; attempt: number; attempts: number; message: string }
  | { type: 'refused'; key: string; label: string; message: string }
  | { type: 'redis-lost'; message: string }
  | { type: 'redis-back' }
  | { type: 'error'; message: string }
  | { type: 'closed' };

export interface RunningWorker {
  readonly name: string;
  /** Stops taking units, lets the running ones finish (or, with `force`, abandons them to the stalled check), and disconnects. */
  close(force?: boolean): Promise<void>;
}

/** The built-in processor, next to this module (.ts when run from source, .js from dist). */
export function defaultProcessorFile(): string {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`./processor.${ext}`, import.meta.url));
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const concurrency = expectInt(o.concurrency ?? 1, 'concurrency', 1, 256);
  const threads = expectInt(o.threads ?? Math.max(1, Math.floor(cpus().length / concurrency)), 'threads', 1, 1024);
  const lockDuration = expectInt(o.lockDurationMs ?? 30_000, 'lockDurationMs', 500);
  const stalledInterval = expectInt(o.stalledIntervalMs ?? 30_000, 'stalledIntervalMs', 100);
  const maxStalledCount = expectInt(o.maxStalledCount ?? 2, 'maxStalledCount', 0, 100);
  const emit = o.onEvent ?? (() => {});
  await checkRedis(o.redis);
  const target = parseRedisUrl(o.redis);
  const queue = o.queue ?? DEFAULT_QUEUE;
  const name = `${hostname()}:${process.pid}`;
  const worker = new Worker<JobEnvelope, JobResult>(queue, o.processorFile ?? defaultProcessorFile(), {
    connection: bullConnection(target),
    prefix: QUEUE_PREFIX,
    name,
    concurrency,
    lockDuration,
    stalledInterval,
    maxStalledCount,
    useWorkerThreads: false,
    // OPENBLAS_NUM_THREADS=1: nrem calls OpenBLAS single-threaded on tiles its own pool
    // runs (native/core/gemm.cc), so the cores-1 server threads OpenBLAS starts at load would
    // only spin (~50 ms of CPU per child measured on 2 cores, more with more cores).
    // --v8-pool-size: V8's background threads (concurrent GC and compilation; 4 by default)
    // sized like the unit's own pools, so that a --threads 1 unit keeps to about one core
    // beside another worker's (2 workers on 2 cores: 1.56–1.75x one worker with it, 1.51–1.59x
    // without, bench/distributed.ts).
    workerForkOptions: {
      env: { ...process.env, NREM_WORKER_THREADS: String(threads), NREM_WORKER_NAME: name, OPENBLAS_NUM_THREADS: '1' },
      execArgv: [...process.execArgv, `--v8-pool-size=${threads}`],
    },
  });
  const info = (job: Job<JobEnvelope>) => ({ key: job.data?.key ?? String(job.id), kind: job.data?.kind ?? job.name, label: job.data?.label ?? String(job.id) });
  let lost = false;
  worker.on('active', (job) => emit({ type: 'start', ...info(job), attempt: job.attemptsStarted }));
  worker.on('progress', (job, p) => {
    const q = p as unknown as JobProgress;
    if (q?.type === 'progress') emit({ type: 'progress', key: info(job).key, label: info(job).label, done: q.done, total: q.total, phase: q.phase });
    else if (q?.type === 'refused') emit({ type: 'refused', key: info(job).key, label: info(job).label, message: q.message });
  });
  worker.on('completed', (job, r) => emit({ type: 'done', ...info(job), status: r.status, seconds: r.seconds }));
  worker.on('failed', (job, err) => {
    if (job) emit({ type: 'failed', ...info(job), attempt: job.attemptsMade, attempts: job.opts.attempts ?? 1, message: err.message });
  });
  worker.on('error', (err) => {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const connection = /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NETUNREACH|PIPE|NOTFOUND)$/.test(code) || /connection is closed|connect/i.test(err.message);
    if (!connection) return emit({ type: 'error', message: err.message });
    if (lost) return;
    lost = true;
    emit({ type: 'redis-lost', message: `lost Redis at ${target.display} (${err.message}); retrying until it is back` });
  });
  worker.on('ready', () => {
    if (!lost) return;
    lost = false;
    emit({ type: 'redis-back' });
  });
  await worker.waitUntilReady();
  emit({ type: 'ready', worker: name, queue, redis: target.display, concurrency, threads });
  return {
    name,
    async close(force = false) {
      await worker.close(force);
      emit({ type: 'closed' });
    },
  };
}
