/**
 * The event loop keeps turning (issue 17 §5): no library call blocks the main thread for more
 * than 50 ms on the paper's network (784-1200-1200-10) and 10,000 digits — FGSM.run with several
 * eps, sleep(), train() and an evaluation. The stall of a run is the largest lateness of a
 * 5 ms setInterval during the call. This machine is shared and loaded: the OS may not schedule
 * the main thread for a while (next to the call's own worker threads) without any JavaScript
 * blocking it. A section of JavaScript that blocks shows in every run, a scheduling hiccup
 * does not, so each call's stall is the least of three runs' worst. On Linux the main thread's
 * own CPU time tells the two apart exactly: the stall is the longest stretch the main thread
 * ran without letting the timer in (under 50 ms); elsewhere the timer's lateness may exceed
 * its lateness while idle, measured in this test between the runs, by less than 50 ms.
 * (Before the fixes of issue 17 the JavaScript maxima of the sleep's scale factors kept the
 * main thread busy ~37 ms per 4,096-row chunk, measured here; now ~1 ms.)
 */
import { existsSync, readFileSync } from 'node:fs';
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

/**
 * The main thread's time on a CPU, in ms (Linux: /proc/self/task/PID/schedstat, in ns), or
 * null elsewhere. It tells a stall that is JavaScript blocking the loop (the main thread runs
 * all along) from one where the OS ran other work (this machine's other jobs, the call's own
 * worker threads) and the main thread waited.
 */
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const mainCpuMs = existsSync(schedstat) ? () => Number(readFileSync(schedstat, 'utf8').split(' ')[0]) / 1e6 : null;

interface Stall {
  /** The largest lateness of a tick, in seconds. */
  late: number;
  /** The largest time the main thread spent on a CPU between two ticks, in seconds (null: not measurable here). */
  blocked: number | null;
}

/** Runs fn with a TICK ms interval timer. */
async function stallDuring(fn: () => Promise<unknown>): Promise<Stall> {
  let last = performance.now();
  let lastCpu = mainCpuMs?.() ?? 0;
  let late = 0;
  let blocked = 0;
  const tick = () => {
    const now = performance.now();
    late = Math.max(late, now - last - TICK);
    if (mainCpuMs) {
      const cpu = mainCpuMs();
      blocked = Math.max(blocked, Math.min(cpu - lastCpu, now - last));
      lastCpu = cpu;
    }
    last = now;
  };
  const timer = setInterval(tick, TICK);
  try {
    await fn();
    tick(); // the last stretch counts too (a blocking tail before the promise settles)
  } finally {
    clearInterval(timer);
  }
  return { late: late / 1000, blocked: mainCpuMs ? Math.max(0, blocked) / 1000 : null };
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
    const late: Record<string, number> = {};
    const blocked: Record<string, number> = {};
    let idleWorst = 0;
    for (let r = 0; r < RUNS; r++)
      for (const [name, fn] of calls) {
        idleWorst = Math.max(idleWorst, (await idle(300)).late);
        const st = await stallDuring(fn);
        late[name] = Math.min(late[name] ?? Infinity, st.late);
        if (st.blocked !== null) blocked[name] = Math.min(blocked[name] ?? Infinity, st.blocked);
      }
    const ms = (v: number) => `${(v * 1000).toFixed(1)} ms`;
    const table = Object.keys(late).map((k) => `${k}: late ${ms(late[k])}${k in blocked ? `, main thread busy ${ms(blocked[k])}` : ''}`).join('; ');
    console.log(`event-loop stalls (least of ${RUNS} runs' worst): ${table}; idle timer lateness ${ms(idleWorst)}`);
    for (const name of Object.keys(late)) {
      // Where the main thread's CPU time is known, the stall that counts is the time it ran without
      // letting the timer in (JavaScript blocking); elsewhere the lateness beyond the idle lateness.
      const stall = name in blocked ? blocked[name] : late[name] - idleWorst;
      expect(stall, `${name} blocked the event loop ${ms(stall)} (timer late ${ms(late[name])}, idle ${ms(idleWorst)})`).toBeLessThan(LIMIT);
    }
  }, 300_000);
});
