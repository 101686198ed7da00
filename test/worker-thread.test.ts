/**
 * nrem inside a worker thread (piscina, a BullMQ sandbox with worker threads, a user's own
 * Worker) that is terminated while native calls run: the thread ends, the process does not.
 * A call's progress or completion then reaches a dying environment; node-addon-api, unable
 * to throw there, would rethrow and std::terminate() the whole process unless the addon is
 * built with NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (binding.gyp, CMakeLists.txt).
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { distort } from '../src/index.js';
import { addonPath } from '../src/native/binding.js';

// Loads the addon the tests use and runs long blurs with progress, back to back, until terminated.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.path);
const x = new Float32Array(4000 * 784).map((_, i) => (i % 97) / 97);
(async () => {
  parentPort.postMessage('running');
  for (let i = 0; ; i++) {
    const out = new Float32Array(x.length);
    await addon.distort('blur', 1.5, x, 4000, 784, 28, 28, i, 0, out, { onProgress: () => {} });
  }
})();
`;

describe('nrem in a worker thread that is terminated mid-call', () => {
  it('ends the thread, not the process: 12 terminations at random points, then the main thread computes as before', async () => {
    const x = new Float32Array(50 * 784).map((_, i) => (i % 89) / 89);
    const before = await distort(x, 784, 'blur', 1.5, { shape: [28, 28] });
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 12; i++) {
      const w = new Worker(WORKER, { eval: true, workerData: { path: addonPath() } });
      const errors: Error[] = [];
      w.on('error', (e) => errors.push(e));
      await new Promise((r) => w.once('message', r));
      await new Promise((r) => setTimeout(r, 20 + rand() * 200));
      expect(await w.terminate()).toBe(1); // the exit code of a terminated thread
      expect(errors).toEqual([]);
    }
    const after = await distort(x, 784, 'blur', 1.5, { shape: [28, 28] });
    expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).toBe(true);
  }, 120_000);
});
