/**
 * `nrem tune --redis` for real: two `nrem worker` processes on a private redis-server sleep
 * and score the candidates of a genetic search on MNIST (quick subset, a small network); the
 * search must reach the same best candidate, with the same score for every candidate, as
 * the local search with the same seed. Run again from scratch, it finds every candidate in
 * the store and sleeps nothing.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { createNetwork, loadDataset, loadOnnx, recipeOptions, saveOnnx, train, tune, type Split } from '../src/index.js';
import { registerTune } from '../src/cli/commands/tune.js';
import { REDIS_SERVER, SKIP_MESSAGE, startRedis, type RedisServer } from './helpers/redis-server.js';
import { cliWorker, ready, type Proc } from './helpers/dist-procs.js';

async function cliTune(args: string[]): Promise<Record<string, any>> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
  try {
    const program = new Command().exitOverride();
    registerTune(program);
    await program.parseAsync(['node', 'nrem', 'tune', ...args]);
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(lines[lines.length - 1]);
}

describe.skipIf(!REDIS_SERVER)('nrem tune --redis on two workers', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nrem-dist-tune-'));
  let redis: RedisServer;
  let workers: Proc[] = [];
  let split: Split;
  const model = join(tmp, 'net.onnx');

  beforeAll(async () => {
    redis = await startRedis();
    workers = [cliWorker(redis.url), cliWorker(redis.url)];
    split = await loadDataset('mnist', { quick: true, seed: 1 });
    const net = createNetwork('paper', [784, 64, 10], 1);
    await train(net, split.train, { ...recipeOptions('paper', 1), epochs: 3 });
    await saveOnnx(net, model);
    await ready(workers);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const search = ['--dataset', 'mnist', '--quick', '--data-seed', '1', '--objective', 'noise:0.3,fgsm:0.1', '--budget', '12', '--pop-size', '6', '--algorithm', 'ga', '--seed', '4', '--val-size', '200', '--bounds', 'steps=100:1000', '--baseline', 'none'];

  it('reaches the same best candidate as the local search with the same seed, every score equal', async () => {
    const local = await tune(await loadOnnx(model), split, {
      algorithm: 'ga',
      budget: 12,
      popSize: 6,
      seed: 4,
      valSize: 200,
      objective: 'noise:0.3,fgsm:0.1',
      bounds: { steps: { min: 100, max: 1000 } },
      baseline: null,
    });
    const out = join(tmp, 'remote.json');
    const res = await cliTune(['--model', model, ...search, '--out', out, '--json', '--redis', redis.url, '--store', 'redis']);
    expect(res.evaluations).toBe(12);
    expect(res.best.parameters).toEqual(local.best.parameters);
    expect(res.best.score).toBe(local.best.score);
    expect(res.best.evaluation).toBe(local.best.evaluation);
    const hist = JSON.parse(readFileSync(join(tmp, 'remote.history.json'), 'utf8')) as { candidates: { score: number; parameters: unknown }[] };
    expect(hist.candidates.map((c) => c.score)).toEqual(local.history.candidates.map((c) => c.score));
    expect(hist.candidates.map((c) => c.parameters)).toEqual(local.history.candidates.map((c) => c.parameters));
    // Both workers slept candidates.
    for (const w of workers) expect(w.events.filter((e) => e.type === 'done' && e.kind === 'tune-candidate' && e.status === 'computed').length).toBeGreaterThan(0);
  });

  it('searched again from scratch, finds every candidate in the store and sleeps nothing', async () => {
    // Counted by the time each worker stamped on its event: a 'done' line of the first search
    // can reach this process after that search returned (it did once, under load); an event
    // without a time counts.
    const t0 = Date.now();
    const out = join(tmp, 'again.json');
    const first = JSON.parse(readFileSync(join(tmp, 'remote.history.json'), 'utf8')) as { candidates: { score: number }[] };
    const res = await cliTune(['--model', model, ...search, '--out', out, '--json', '--redis', redis.url, '--store', 'redis']);
    expect(res.evaluatedNow).toBe(12);
    expect(res.bestSoFar[res.bestSoFar.length - 1]).toBe(Math.max(...first.candidates.map((c) => c.score)));
    const computed = workers.flatMap((w) => w.events).filter((e) => e.type === 'done' && e.status === 'computed' && !(Date.parse(String(e.time)) < t0));
    expect(computed).toEqual([]);
  });
});

// Without redis-server the suite above is skipped; this says why in the test report.
if (!REDIS_SERVER) describe('nrem tune --redis on two workers', () => it.skip(`skipped: ${SKIP_MESSAGE}`, () => {}));
