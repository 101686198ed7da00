/**
 * nrem's sandboxed processor, wrapped so that a test can make units fail: the Redis hash
 * `nrem-test:faults` maps a unit kind to "throw:N" (throw on the first N attempts),
 * "abort:N" (abort the child process, as a crash in native code would) or "hold:N" (on the
 * first N starts, report progress and then never finish, as a unit deep in a long computation:
 * a point where a test can kill the worker mid-unit whatever the machine's speed). Anything
 * else runs the real processor (src/distributed/processor.ts) unchanged.
 */
import type { SandboxedJob } from 'bullmq';
import { Redis } from 'ioredis';
import real from '../../src/distributed/processor.js';
import type { JobEnvelope, JobResult } from '../../src/distributed/protocol.js';

let client: Redis | undefined;

export default async function faulty(job: SandboxedJob<JobEnvelope, JobResult>, token?: string, signal?: AbortSignal): Promise<JobResult> {
  client ??= new Redis(process.env.NREM_TEST_REDIS!, { maxRetriesPerRequest: 1 });
  const f = await client.hget('nrem-test:faults', job.data.kind);
  if (f) {
    const [mode, n] = f.split(':');
    if (job.attemptsMade < Number(n)) {
      if (mode === 'throw') throw new Error(`injected fault in "${job.data.label}"`);
      if (mode === 'abort') process.abort();
    }
    // A held unit's progress goes out at once (the real processor reports only units still running
    // a quarter second in, and a unit of a small spec may be done before that).
    if (mode === 'hold' && (job.attemptsStarted ?? 0) <= Number(n)) {
      await job.updateProgress({ type: 'progress', done: 0, total: 1, phase: 'held by the test' });
      return new Promise<never>(() => undefined);
    }
  }
  return real(job, token, signal);
}
