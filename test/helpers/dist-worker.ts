/**
 * A worker for the distributed tests: the same startWorker as `nrem worker`, one unit at a
 * time, one thread, fast lock and stalled checks, JSON events on stdout — with the
 * processor of test/helpers/faulty-processor.ts, which fails the units the test chooses.
 * Usage: node --import tsx test/helpers/dist-worker.ts REDIS_URL
 * (env NREM_TEST_THREADS: threads per unit instead of 1; NREM_TEST_PROCESSOR: another processor file)
 */
import { fileURLToPath } from 'node:url';
import { startWorker } from '../../src/distributed/worker.js';
import { TEST_LOCK_MS, TEST_STALLED_MS } from './dist-procs.js';

const redis = process.argv[2];
process.env.NREM_TEST_REDIS = redis; // read by the faulty processor in the child processes
const w = await startWorker({
  redis,
  concurrency: 1,
  threads: Number(process.env.NREM_TEST_THREADS ?? 1),
  lockDurationMs: TEST_LOCK_MS,
  stalledIntervalMs: TEST_STALLED_MS,
  processorFile: process.env.NREM_TEST_PROCESSOR ?? fileURLToPath(new URL('./faulty-processor.ts', import.meta.url)),
  onEvent: (e) => process.stdout.write(`${JSON.stringify(e)}\n`),
});
const stop = () => void w.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
