/**
 * The event loop keeps turning (issue 17 §5): no library call blocks the main thread for more
 * than 50 ms on the paper's network (784-1200-1200-10) and 10,000 digits — FGSM.run with several
 * eps, sleep(), train() and an evaluation. The stall of a run is the largest lateness of a
 * 5 ms setInterval during the call. This machine is shared and loaded: the OS may not schedule
 * the main thread for a while (next to the call's own worker threads) without any JavaScript
 * blocking it. A section of JavaScript that blocks shows in every run, a scheduling hiccup
 * does not, so each call's stall is the least of three runs' worst, and it is compared with the
 * worst lateness of the same timer while idle, measured in this test between the runs: the
 * call may add at most 50 ms to it. (Measured before the fixes of issue 17: sleep() stalled
 * ~100–280 ms in every run, in the JavaScript maxima of the scale factors.)
 */
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import { createNetwork, evaluate, recipeOptions, train } from '../src/train/train.js';
import { sleep } from '../src/sleep/sleep.js';
import { FGSM } from '../src/attacks/pgd.js';
import type { Network } from '../src/model/network.js';

const TICK = 5;
const RUNS = 3;
const LIMIT = 0.05;

/** Runs fn with a TICK ms interval timer; the largest lateness of a tick, in seconds. */
async function stallDuring(fn: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - TICK);
    last = now;
  }, TICK);
  try {
    await fn();
    // The last stretch counts too (a blocking tail before the promise settles).
    const now = performance.now();
    worst = Math.max(worst, now - last - TICK);
  } finally {
    clearInterval(timer);
  }
  return worst / 1000;
}

const idle = (ms: number) => stallDuring(() => new Promise((r) => setTimeout(r, ms)));

describe('the event loop keeps turning during the heavy calls', () => {
  it('FGSM.run with 3 eps, sleep(), train() and an evaluation on the paper network and 10,000 digits', async () => {
    const { train: tr, test } = loadMnist();
    const rows = head(tr, 10_000);
    const net: Network = createNetwork('paper', [784, 1200, 1200, 10], 1);
    const calls: [string, () => Promise<unknown>][] = [
      ['FGSM.run (eps 0.05, 0.1, 0.2)', () => new FGSM({ loss: 'ce' }).run(net, test.x, test.y, { epsilons: [0.05, 0.1, 0.2] })],
      ['sleep (mnist-fgsm, 10,000 rows)', () => sleep(net, rows, { preset: 'mnist-fgsm', seed: 1, steps: 2000 })],
      ['train (1 epoch, 10,000 rows)', () => train(net, rows, { ...recipeOptions('paper', 1), epochs: 1 })],
      ['evaluate (10,000 test digits)', () => evaluate(net, test)],
    ];
    const stalls: Record<string, number> = {};
    let idleWorst = 0;
    for (let r = 0; r < RUNS; r++)
      for (const [name, fn] of calls) {
        idleWorst = Math.max(idleWorst, await idle(300));
        stalls[name] = Math.min(stalls[name] ?? Infinity, await stallDuring(fn));
      }
    const table = Object.entries(stalls).map(([k, v]) => `${k}: ${(v * 1000).toFixed(1)} ms`).join('; ');
    console.log(`event-loop stalls (least of ${RUNS} runs' worst): ${table}; idle timer lateness ${(idleWorst * 1000).toFixed(1)} ms`);
    for (const [name, s] of Object.entries(stalls)) expect(s - idleWorst, `${name} stalled the event loop ${(s * 1000).toFixed(1)} ms (idle: ${(idleWorst * 1000).toFixed(1)} ms)`).toBeLessThan(LIMIT);
  }, 300_000);
});
