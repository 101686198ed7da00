/**
 * tune() end to end on real data (a small MNIST subset, a small paper-recipe network):
 * it writes a preset that sleep() takes, a history, and resumes after an abort without
 * re-evaluating finished generations, ending exactly where an uninterrupted run ends.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  createNetwork,
  loadDataset,
  loadPresetFile,
  recipeOptions,
  resolveParameters,
  saveOnnx,
  sleep,
  train,
  tune,
  ValueError,
  type TuneOptions,
} from '../src/index.js';
import { registerTune } from '../src/cli/commands/tune.js';

const tmp = mkdtempSync(join(tmpdir(), 'nrem-tune-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const split = await loadDataset('mnist', { quick: true, quickTrain: 2000, quickTest: 300, seed: 1 });
const net = createNetwork('paper', [784, 64, 10], 1);
await train(net, split.train, { ...recipeOptions('paper', 1), epochs: 15 });

const base = (alg: 'ga' | 'cmaes', out: string): TuneOptions => ({
  algorithm: alg,
  budget: 14,
  popSize: alg === 'ga' ? 6 : 5,
  seed: 4,
  valSize: 200,
  objective: 'noise:0.3,blur:2,fgsm:0.1',
  bounds: { steps: { min: 100, max: 2000 } },
  baseline: { ...resolveParameters('mnist-fgsm', { beta: [36.186585, 23.362736] }, 2), steps: 2000 },
  out,
});

describe.each(['ga', 'cmaes'] as const)('tune (%s)', (alg) => {
  it('writes a preset that loadPresetFile and sleep() accept, and a history of every candidate', async () => {
    const out = join(tmp, `${alg}.json`);
    const r = await tune(net, split, base(alg, out));
    expect(r.history.candidates).toHaveLength(14);
    expect(r.evaluatedNow).toBe(14);
    expect(r.resumed).toBe(false);
    // The best-so-far curve is monotone and ends at the best score.
    const curve = r.history.candidates.map((c) => c.bestSoFar);
    for (let i = 1; i < curve.length; i++) expect(curve[i]).toBeGreaterThanOrEqual(curve[i - 1]);
    expect(curve[curve.length - 1]).toBe(r.best.score);
    expect(r.history.baseline?.score).toBeGreaterThan(0);
    expect(r.history.control.terms.clean).toBeGreaterThan(0.7);
    // The preset file: the best parameters, in the sleep branch's preset-file format.
    const file = await loadPresetFile(out);
    const params = resolveParameters(file, {}, net.weightLayers);
    expect(params).toEqual(r.best.parameters);
    const slept = await sleep(net, split.train, { preset: file, seed: 1 });
    expect(slept.stats.steps).toBe(r.best.parameters.steps);
    const hist = JSON.parse(readFileSync(join(tmp, `${alg}.history.json`), 'utf8'));
    expect(hist.candidates).toHaveLength(14);
    expect(hist.candidates[3]).toMatchObject({ evaluation: 4, score: r.history.candidates[3].score });
    expect(existsSync(join(tmp, `${alg}.checkpoint.json`))).toBe(true);
  });

  it('resumes after an abort from the checkpoint, re-evaluating nothing, and ends like the uninterrupted run', async () => {
    const whole = await tune(net, split, base(alg, join(tmp, `${alg}-whole.json`)));
    const out = join(tmp, `${alg}-cut.json`);
    const ac = new AbortController();
    let doneAtAbort = 0;
    const first = tune(net, split, {
      ...base(alg, out),
      signal: ac.signal,
      onProgress: (p) => {
        if (p.generation === 1) {
          doneAtAbort = p.done;
          ac.abort();
        }
      },
    });
    await expect(first).rejects.toBeInstanceOf(AbortError);
    expect(doneAtAbort).toBeGreaterThan(0);
    const cp = JSON.parse(readFileSync(join(tmp, `${alg}-cut.checkpoint.json`), 'utf8'));
    expect(cp.history.candidates).toHaveLength(doneAtAbort);
    const again = await tune(net, split, base(alg, out));
    expect(again.resumed).toBe(true);
    expect(again.evaluatedNow).toBe(14 - doneAtAbort);
    expect(again.history.candidates.map((c) => c.score)).toEqual(whole.history.candidates.map((c) => c.score));
    expect(again.best.parameters).toEqual(whole.best.parameters);
    // A finished search run again does nothing more.
    const third = await tune(net, split, base(alg, out));
    expect(third.evaluatedNow).toBe(0);
    // Another objective with the same out is refused instead of mixing two searches.
    await expect(tune(net, split, { ...base(alg, out), objective: 'noise:0.5' })).rejects.toThrow(ValueError);
  });
});

describe('nrem tune (CLI)', () => {
  it('--json: runs a search from an ONNX model and prints the best, the baseline and the curve', async () => {
    const model = join(tmp, 'net.onnx');
    await saveOnnx(net, model);
    const out = join(tmp, 'cli.json');
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
    try {
      const program = new Command().exitOverride();
      registerTune(program);
      await program.parseAsync(
        ['node', 'nrem', 'tune', '--model', model, '--dataset', 'mnist', '--quick', '--data-seed', '1', '--objective', 'noise:0.3,fgsm:0.1',
          '--budget', '6', '--pop-size', '6', '--algorithm', 'ga', '--val-size', '200', '--bounds', 'steps=100:1000', '--baseline', 'none', '--out', out, '--json'],
      );
    } finally {
      spy.mockRestore();
    }
    const res = JSON.parse(lines[lines.length - 1]);
    expect(res).toMatchObject({ algorithm: 'ga', evaluations: 6, evaluatedNow: 6, baseline: null, out });
    expect(res.bestSoFar).toHaveLength(6);
    expect(res.wallSeconds).toBeGreaterThan(0);
    expect((await loadPresetFile(out)).steps).toBe(res.best.parameters.steps);
  });
});
