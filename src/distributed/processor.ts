/**
 * The sandboxed processor: BullMQ runs this file in a child process of `nrem worker`
 * (one per unit at a time, reused between units), so a crash or an abort in native code ends
 * the child, fails that attempt and leaves the worker — and its event loop, which keeps the
 * job locks alive — running. The child exits when its worker dies (IPC disconnect), so a
 * worker killed with SIGKILL leaves no orphan still writing.
 *
 * Per job: refuse a job of other versions (it goes back to the queue, delayed, for a worker of
 * the right version; the coordinator is told through the job's progress), else run the unit
 * (src/distributed/experiment.ts) or the tune candidate (src/distributed/tune-remote.ts).
 */
import { hostname } from 'node:os';
import type { SandboxedJob } from 'bullmq';
import { realOps } from '../experiments/ops-real.js';
import { canonicalJson, type Store } from '../experiments/store.js';
import { setThreads } from '../native/runtime.js';
import type { ProgressEvent } from '../util/control.js';
import { runUnitJob, workerCache, type UnitJobBody } from './experiment.js';
import { versionMismatch, type JobEnvelope, type JobProgress, type JobResult } from './protocol.js';
import { openStore } from './stores.js';
import { runTuneJob, type TuneJobBody } from './tune-remote.js';

/** A refused job waits this long before a worker may take it again. */
const REFUSAL_DELAY_MS = 10_000;

/** BullMQ knows a job its processor moved to "delayed" by this error's name (importing bullmq here would cost a second per child). */
class DelayedError extends Error {
  override name = 'DelayedError';
}

if (process.send) process.on('disconnect', () => process.exit(1));
const threads = Number(process.env.NREM_WORKER_THREADS);
if (Number.isInteger(threads) && threads > 0) setThreads(threads);
const worker = process.env.NREM_WORKER_NAME ?? `${hostname()}:${process.ppid}`;
const cache = workerCache(realOps());
const stores = new Map<string, Store>();

export default async function processUnit(job: SandboxedJob<JobEnvelope, JobResult>, token?: string, signal?: AbortSignal): Promise<JobResult> {
  const report = (p: JobProgress) => job.updateProgress(p as unknown as object);
  const why = versionMismatch(job.data?.v);
  if (why) {
    await report({ type: 'refused', worker, message: why });
    await job.moveToDelayed(Date.now() + REFUSAL_DELAY_MS, token);
    throw new DelayedError(why);
  }
  const loc = canonicalJson(job.data.store);
  let store = stores.get(loc);
  if (!store) stores.set(loc, (store = openStore(job.data.store)));
  // Reports (each a Redis script, a stream event and the coordinator's parse) only for a unit
  // still running a quarter second in: its start then, and at most 4 progress reports a second.
  // A short unit sends none; its worker comes back with its result. A training unit (the long
  // ones of a study, and few) reports its start at once, so that the display shows it running.
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    void report({ type: 'start', worker });
  };
  const startTimer = setTimeout(start, 250);
  if (job.data.kind === 'train') start();
  let last = Date.now();
  const onProgress = (p: ProgressEvent) => {
    const now = Date.now();
    if (now - last < 250) return;
    last = now;
    start();
    void report({ type: 'progress', done: p.done, total: p.total, phase: p.phase });
  };
  const t0 = performance.now();
  try {
    const status =
      job.name === 'unit'
        ? await runUnitJob(job.data as JobEnvelope<UnitJobBody>, { store, cache, signal, onProgress })
        : job.name === 'tune'
          ? await runTuneJob(job.data as JobEnvelope<TuneJobBody>, { store, signal })
          : (() => {
              throw new Error(`unknown job name ${JSON.stringify(job.name)}`);
            })();
    return { status, seconds: (performance.now() - t0) / 1000, worker };
  } catch (err) {
    const e = err as Error & { code?: string };
    // The message the coordinator shows: which worker, which error.
    throw Object.assign(new Error(`on ${worker}: ${e.code ? `${e.code}: ` : ''}${e.message}`), { name: e.name });
  } finally {
    clearTimeout(startTimer);
  }
}
