/**
 * The thread pools of a unit: `nrem worker --threads N` must make every pool its units run N
 * wide — the native core's (which also runs OpenBLAS's tiles), ONNX Runtime's intra-op pool
 * (which takes the native count as its default) and OpenBLAS's own — so that two workers on
 * two cores do not each run ONNX Runtime on both. Results must not depend on the width.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { OrtModel } from '../src/model/ort.js';
import { createNetwork } from '../src/train/train.js';
import { runtimeInfo, setThreads } from '../src/native/runtime.js';
import { DEFAULT_QUEUE, QUEUE_PREFIX } from '../src/distributed/protocol.js';
import { REDIS_SERVER, SKIP_MESSAGE, startRedis, type RedisServer } from './helpers/redis-server.js';
import { helperWorker, ready, type Proc } from './helpers/dist-procs.js';

const osThreads = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
/** The thread count once it holds still (a disposed session's pool threads exit a moment after dispose() returns). */
async function settledThreads(): Promise<number> {
  let last = osThreads();
  for (let same = 0, k = 0; same < 3 && k < 200; k++) {
    await new Promise((r) => setTimeout(r, 10));
    const now = osThreads();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}
const LINUX = existsSync('/proc/self/status');

describe('ONNX Runtime sessions and the native thread setting', () => {
  const before = runtimeInfo().threads;
  afterEach(() => setThreads(before));

  it('a session takes the native thread count as its default, an explicit count wins, and the outputs are the same bit for bit', async () => {
    const net = createNetwork('paper', [784, 300, 10], 3);
    const n = 500;
    const x = Float32Array.from({ length: 784 * n }, (_, i) => ((i * 7919) % 1000) / 1000);
    // Threads a live session adds to this process: its worker thread + (intra-op − 1) pool threads.
    const started = async (o?: { threads: number }) => {
      const t0 = LINUX ? await settledThreads() : 0;
      const m = await OrtModel.fromNetwork(net, o);
      const added = LINUX ? (await settledThreads()) - t0 : NaN;
      const y = await m.run(x, n);
      await m.dispose();
      return { threads: m.threads, added, y };
    };
    await started({ threads: 1 }); // the first worker thread of a process starts a little more
    setThreads(1);
    const d1 = await started();
    setThreads(2);
    const d2 = await started();
    const e1 = await started({ threads: 1 });
    const e3 = await started({ threads: 3 });
    expect([d1.threads, d2.threads, e1.threads, e3.threads]).toEqual([1, 2, 1, 3]);
    if (LINUX) {
      expect(d1.added).toBe(e1.added);
      expect(d2.added - d1.added).toBe(1);
      expect(e3.added - e1.added).toBe(2);
    }
    for (const r of [d2, e1, e3]) expect(Buffer.from(r.y.buffer).equals(Buffer.from(d1.y.buffer))).toBe(true);
  });
});

describe.skipIf(!REDIS_SERVER)('a worker started with --threads N (real Redis on loopback)', () => {
  let redis: RedisServer;
  let worker: Proc | undefined;
  afterAll(async () => {
    await worker?.stop();
    await redis?.stop();
  });

  it('runs its units with the native core, ONNX Runtime and OpenBLAS sized from it', async () => {
    redis = await startRedis();
    worker = helperWorker(redis.url, { NREM_TEST_THREADS: '3', NREM_TEST_PROCESSOR: fileURLToPath(new URL('./helpers/threads-processor.ts', import.meta.url)) });
    await ready([worker]);
    expect(worker.event((e) => e.type === 'ready')).toMatchObject({ threads: 3 });
    const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
    const queue = new Queue(DEFAULT_QUEUE, { connection, prefix: QUEUE_PREFIX });
    const qe = new QueueEvents(DEFAULT_QUEUE, { connection, prefix: QUEUE_PREFIX });
    try {
      await qe.waitUntilReady();
      const job = await queue.add('unit', {});
      // 3 native threads, sessions of 3, and OpenBLAS never starting threads of its own
      // (nrem calls it single-threaded on tiles the native pool runs).
      expect(await job.waitUntilFinished(qe, 60_000)).toEqual({ native: 3, ort: 3, openblas: '1' });
    } finally {
      await queue.close();
      await qe.close();
    }
  });
});

if (!REDIS_SERVER) describe('a worker started with --threads N', () => it.skip(`skipped: ${SKIP_MESSAGE}`, () => {}));
