/**
 * No leak per call: the resident set after 1,000 sleeps and after 1,000 evaluations stays
 * within 10 % of what it was after the first 100 (issue 18). Small calls, so that the
 * per-call cost of the addon's bookkeeping (tasks, references, pools, buffers) dominates.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createNetwork, evaluate, generatePatches, sleep } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function rss(): number {
  gc();
  gc();
  return process.memoryUsage().rss;
}

async function plateau(name: string, call: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 100; i++) await call();
  const after100 = rss();
  for (let i = 100; i < 1000; i++) await call();
  const after1000 = rss();
  const growth = (after1000 - after100) / after100;
  console.log(`${name}: RSS ${(after100 / 2 ** 20).toFixed(0)} MiB after 100 calls, ${(after1000 / 2 ** 20).toFixed(0)} MiB after 1,000 (${(100 * growth).toFixed(1)} %)`);
  expect(growth).toBeLessThan(0.1);
}

describe('RSS plateaus', () => {
  const { train, test } = generatePatches({ n: 200, nTest: 400, seed: 1 });
  const net = createNetwork('paper', [100, 64, 4], 1);

  it('1,000 sleeps', async () => {
    await plateau('sleep', () => sleep(net, train, { preset: 'patches', beta: [1, 1], steps: 300, seed: 1, input: 'sequence' }));
  }, 300_000);

  it('1,000 evaluations', async () => {
    await plateau('evaluate', () => evaluate(net, test));
  }, 300_000);
});
