/**
 * The coordinator's reconciliation poll, which catches what the queue's events missed: a job
 * that vanished from the queue without a record is put back, and a unit whose job is gone
 * with its record in the store (a `completed` event missed) counts as finished. No worker
 * runs here (a queue of its own): the test plays the workers' part by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirStore } from '../src/experiments/store.js';
import { Coordinator, type Task } from '../src/distributed/coordinator.js';
import { jobIdOf } from '../src/distributed/protocol.js';
import { REDIS_SERVER, SKIP_MESSAGE, startRedis, type RedisServer } from './helpers/redis-server.js';

async function until<T>(f: () => Promise<T | undefined | null | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!REDIS_SERVER)('the coordinator poll (real Redis on loopback)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nrem-dist-poll-'));
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('puts back a job that vanished, and finishes a unit whose record is in the store when its event was missed', async () => {
    const coord = await Coordinator.connect({ redis: redis.url, queue: 'poll-test', pollMs: 100 });
    const store = new DirStore(tmp);
    const task: Task = { name: 'unit', kind: 'bench', key: 'a'.repeat(16), label: 'by hand', body: {}, deps: [] };
    const id = jobIdOf(store.location, task.kind, task.key);
    const done: string[] = [];
    try {
      const run = coord.run([task], { store, onDone: (t) => done.push(t.key) });
      const job = await until(() => coord.queue.getJob(id), 5000, 'the job to be queued');
      await job.remove(); // gone, no record: the poll puts it back within 5 polls
      await new Promise((r) => setTimeout(r, 150));
      const again = await until(() => coord.queue.getJob(id), 5000, 'the job to be put back');
      // A worker that saved the record and whose `completed` event never arrived.
      await store.save({ key: task.key, kind: task.kind, label: task.label, params: {}, inputs: [], wallSeconds: 0, finishedAt: new Date().toISOString(), value: {} }, []);
      await again.remove();
      await run;
      expect(done).toEqual([task.key]);
      expect(await coord.queue.getJob(id)).toBeUndefined();
    } finally {
      await coord.close();
    }
  });
});

if (!REDIS_SERVER) describe('the coordinator poll', () => it.skip(`skipped: ${SKIP_MESSAGE}`, () => {}));
