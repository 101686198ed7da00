/** Timing helpers shared by the benchmark suites. */
import { sleep, type SleepOptions, type SleepResult } from '../src/sleep/sleep.js';
import type { Network } from '../src/model/network.js';

/** Best wall time (s) of `reps` runs of fn. */
export async function best(reps: number, fn: () => Promise<unknown>): Promise<number> {
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median of the engine's own clock (the simulation alone) over `reps` sleeps, and the last result. */
export async function timedSleep(net: Network, x: Float32Array, o: SleepOptions, reps: number): Promise<{ s: number; r: SleepResult }> {
  const times: number[] = [];
  let r!: SleepResult;
  for (let i = 0; i < reps; i++) {
    r = await sleep(net, x, o);
    times.push(r.stats.seconds);
  }
  return { s: median(times), r };
}
