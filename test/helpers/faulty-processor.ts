/**
 * nrem's sandboxed processor, wrapped so that a test can make units fail: the Redis hash
 * `nrem-test:faults` maps a unit kind to "throw:N" (throw on the first N attempts) or
 * "abort:N" (abort the child process, as a crash in native code would). Anything else runs
 * the real processor (src/distributed/processor.ts) unchanged.
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
  }
  return real(job, token, signal);
}
