/**
 * nrem worker --redis URL [--concurrency N]: runs the units of `nrem reproduce --redis` and
 * `nrem tune --redis` submitted to that Redis, each in a sandboxed child process, until
 * stopped (SIGINT/SIGTERM: the running units finish first; a second signal exits at once,
 * leaving them to the other workers). See docs/distributed.md.
 */
import type { Command } from 'commander';
import { UsageError } from '../parse.js';
import type { RunningWorker, WorkerEvent } from '../../distributed/worker.js';

interface WorkerCliOptions {
  redis: string;
  queue?: string;
  concurrency: string;
  threads?: string;
  lockDuration: string;
  stalledInterval: string;
  json?: boolean;
}

/** A whole number in [min, max] from a flag, strictly (no empty or fractional text). */
function intFlag(s: string, flag: string, min: number, max: number): number {
  const v = /^\d+$/.test(s.trim()) ? Number(s) : NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`Expected an integer in [${min}, ${max}] for ${flag} but received ${JSON.stringify(s)}`);
  return v;
}

function line(e: WorkerEvent): string | undefined {
  switch (e.type) {
    case 'ready':
      return `nrem worker ${e.worker}: queue "${e.queue}" on ${e.redis}, ${e.concurrency} unit${e.concurrency > 1 ? 's' : ''} at a time, ${e.threads} thread${e.threads > 1 ? 's' : ''} each`;
    case 'start':
      return `start  ${e.label}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`;
    case 'done':
      return e.status === 'found' ? `found  ${e.label} (already in the store)` : `done   ${e.label} in ${e.seconds.toFixed(1)} s`;
    case 'failed':
      return `failed ${e.label} (attempt ${e.attempt} of ${e.attempts}): ${e.message}`;
    case 'refused':
      return `REFUSED ${e.label}: ${e.message}`;
    case 'redis-lost':
    case 'error':
      return e.message;
    case 'redis-back':
      return 'Redis is back';
    case 'closed':
      return 'stopped';
    default:
      return undefined;
  }
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run the units of distributed `reproduce --redis` / `tune --redis` runs (docs/distributed.md)')
    .requiredOption('--redis <url>', 'the Redis of the queue, e.g. redis://10.0.0.5:6379')
    .option('--queue <name>', 'queue name (the coordinator must use the same)')
    .option('--concurrency <n>', 'units at once, each in its own child process', '1')
    .option('--threads <n>', 'native threads per unit (default: cores / concurrency)')
    .option('--lock-duration <ms>', "a unit whose worker stops renewing its lock this long is handed to another worker", '30000')
    .option('--stalled-interval <ms>', "how often to look for units of dead workers", '30000')
    .option('--json', 'one JSON object per event on stdout')
    .action(async (o: WorkerCliOptions) => {
      // A worker outlives its log: where the reader of stdout or stderr has gone (a closed pipe,
      // `| head`), it stops writing there and goes on with its units instead of dying of EPIPE.
      const gone = new Set<NodeJS.WriteStream>();
      for (const s of [process.stdout, process.stderr]) s.on('error', () => gone.add(s));
      const write = (s: NodeJS.WriteStream, text: string) => {
        if (!gone.has(s)) s.write(text);
      };
      const print = (e: WorkerEvent) => {
        if (o.json) {
          write(process.stdout, `${JSON.stringify({ ...e, time: new Date().toISOString() })}\n`);
          return;
        }
        const s = line(e);
        if (s) write(e.type === 'failed' || e.type === 'refused' || e.type === 'redis-lost' || e.type === 'error' ? process.stderr : process.stdout, `${s}\n`);
      };
      // The signal handlers come first: a SIGTERM sent as soon as the "ready" line is read
      // (a supervisor, a test) stops the worker cleanly instead of killing it by default.
      let w: RunningWorker | undefined;
      let stopping = false;
      let resolveStopped = () => {};
      const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
      const closeWorker = () => void w!.close().then(resolveStopped, resolveStopped);
      const stop = () => {
        if (stopping) {
          // The child processes exit with this one; the stalled check hands their units to other workers.
          write(process.stderr, 'stopping now; the running units go to other workers\n');
          process.exit(130);
        }
        stopping = true;
        write(process.stderr, 'stopping after the running units (signal again to stop now)\n');
        if (w) closeWorker();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      const { startWorker } = await import('../../distributed/worker.js');
      w = await startWorker({
        redis: o.redis,
        queue: o.queue,
        concurrency: intFlag(o.concurrency, '--concurrency', 1, 256),
        threads: o.threads === undefined ? undefined : intFlag(o.threads, '--threads', 1, 1024),
        lockDurationMs: intFlag(o.lockDuration, '--lock-duration', 500, 86_400_000),
        stalledIntervalMs: intFlag(o.stalledInterval, '--stalled-interval', 100, 86_400_000),
        onEvent: print,
      });
      if (stopping) closeWorker(); // a signal came while it started
      await stopped;
    });
}
