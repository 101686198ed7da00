/**
 * Issue 17, the rest of the CLI: `nrem tune` and `nrem defend` default to the data set the
 * model records and warn (stderr and JSON) on another one or on inputs outside its range,
 * as eval / attack / sleep do; `attack --attack fgsm` with the re-check makes each FGSM
 * example once whatever the number of eps (chunks of FGSM_CHUNK); `reproduce --timings`
 * splits the run's wall time by unit kind and phase. Commands run in-process.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { registerTrain } from '../src/cli/commands/train.js';
import { registerTune } from '../src/cli/commands/tune.js';
import { registerDefend } from '../src/cli/commands/defend.js';
import { registerAttack, FGSM_CHUNK } from '../src/cli/commands/attack.js';
import { registerReproduce } from '../src/cli/commands/reproduce.js';
import { loadDataset } from '../src/data/index.js';
import { head } from '../src/data/dataset.js';
import { loadOnnx } from '../src/model/onnx.js';
import { OrtModel } from '../src/model/ort.js';
import { Attack, FGSM } from '../src/attacks/index.js';
import { recheckWithOrt } from '../src/attacks/recheck.js';
import { buildGraph } from '../src/experiments/graph.js';
import { validateSpec } from '../src/experiments/spec.js';
import { microPatches } from './helpers/small-specs.js';
import { lastJson, runCli, testDirWithCache } from './helpers/cli.js';

const dir = testDirWithCache('nrem-pipeline-cmds-');

const nrem = (args: string[]) => runCli([registerTrain, registerTune, registerDefend, registerAttack, registerReproduce], args);

describe('tune and defend: the model\'s data set by default, warnings on another one', () => {
  const net = join(dir, 'p.onnx');
  const other = 'patches:seed=9';
  let mismatch = '';
  beforeAll(async () => {
    const t = await nrem(['train', '--dataset', 'patches', '--arch', '100,8,4', '--epochs', '2', '--out', net, '--json']);
    expect(t.error).toBeUndefined();
    const a = (await loadDataset('patches', { seed: 1 })).train.datasetSha256!;
    const b = (await loadDataset(other)).train.datasetSha256!;
    mismatch = `${net} was trained on patches:seed=1 (training rows sha256 ${a.slice(0, 12)}…) but this command runs it on ${other} (sha256 ${b.slice(0, 12)}…): its figures here are not about the data it learned; pass --dataset patches:seed=1 to use that`;
  }, 30_000);

  const tune = (extra: string[], out: string) =>
    nrem(['tune', '--model', net, ...extra, '--objective', 'noise:0.3', '--budget', '4', '--pop-size', '4', '--val-size', '40', '--bounds', 'steps=100:300', '--base', 'patches', '--baseline', 'none', '--out', join(dir, out), '--json']);

  it('tune without --dataset runs on the data set the model records, without a warning', async () => {
    const r = await tune([], 'tuned.json');
    expect(r.error).toBeUndefined();
    const j = lastJson(r.out);
    expect(j.dataset).toMatch(/^patches\(.*seed=1\)\/train$/); // not the mnist default
    expect(j.warnings).toEqual([]);
    expect(r.err).not.toContain('warning');
  }, 30_000);

  it('tune --dataset on another data set warns on stderr and in the JSON', async () => {
    const r = await tune(['--dataset', other], 'tuned-other.json');
    expect(r.error).toBeUndefined();
    expect(lastJson(r.out).warnings).toEqual([mismatch]);
    expect(r.err).toBe(`nrem: warning: ${mismatch}\n`);
  }, 30_000);

  const finetune = (extra: string[], out: string) =>
    nrem(['defend', '--method', 'finetune', '--net', net, '--kind', 'noise', '--epochs', '1', '--replace', '20', ...extra, '--out', join(dir, out), '--json']);

  it('defend --net without --data fine-tunes on the data set the network records', async () => {
    const r = await finetune([], 'ft.onnx');
    expect(r.error).toBeUndefined();
    const j = lastJson(r.out);
    expect(j.dataset).toMatch(/^patches\(.*seed=1\)\/train$/);
    expect(j.warnings).toEqual([]);
  }, 30_000);

  it('defend on another data set and on inputs outside the recorded range: both warnings, exact', async () => {
    const d = await finetune(['--data', other], 'ft-other.onnx');
    expect(d.error).toBeUndefined();
    expect(lastJson(d.out).warnings).toEqual([mismatch]);
    expect(d.err).toContain(`nrem: warning: ${mismatch}\n`);
    // Features in [0, 2] against a network trained on [0, 1].
    const csv = join(dir, 'wide.csv');
    writeFileSync(csv, Array.from({ length: 40 }, (_, r) => [...Array.from({ length: 100 }, (_, c) => ((r * 7 + c) % 5) / 2), r % 4].join(',')).join('\n'));
    const w = await finetune(['--data', `features:${csv}`], 'ft-wide.onnx');
    expect(w.error).toBeUndefined();
    const warnings = lastJson(w.out).warnings as string[];
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(new RegExp(`^${net.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was trained on patches:seed=1 .* but this command runs it on features:`));
    expect(warnings[1]).toBe(`${net} was trained on inputs in [0, 1] but features:${csv} has values in [0, 2]: the network is run outside the range it learned`);
    for (const m of warnings) expect(w.err).toContain(`nrem: warning: ${m}\n`);
  }, 30_000);
});

describe('attack --attack fgsm with more eps than one chunk', () => {
  it('20 eps: FGSM runs once per eps (chunks of 16, one ONNX Runtime session); accuracies and re-check equal FGSM at each eps alone', async () => {
    expect(FGSM_CHUNK).toBe(16);
    const model = resolve('test/fixtures/onnx/mlp_bias.onnx');
    const eps = [0, ...Array.from({ length: 20 }, (_, i) => (i + 1) / 100)];
    const t0 = performance.now();
    const runs = vi.spyOn(Attack.prototype, 'run');
    const sessions = vi.spyOn(OrtModel, 'fromNetwork');
    const r = await nrem(['attack', '--model', model, '--dataset', 'mnist', '--attack', 'fgsm', '--eps', eps.join(','), '--limit', '300', '--json']);
    const calls = runs.mock.calls.map((c) => (c[3] as { epsilons: number[] }).epsilons.length);
    const started = sessions.mock.calls.length;
    runs.mockRestore();
    sessions.mockRestore();
    expect(r.error).toBeUndefined();
    expect(calls).toEqual([16, 4]);
    expect(started).toBe(1);
    const j = lastJson(r.out);
    expect(j.method).toBe('direct');
    console.log(`attack fgsm, 20 eps on 300 digits: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    expect(Object.keys(j.timings)).toEqual(['startup', 'load', 'checks', 'work', 'recheck', 'total']);
    // The reference: FGSM at each eps on its own, re-checked by ONNX Runtime.
    const net = await loadOnnx(model);
    const test = head((await loadDataset('mnist')).test, 300);
    const accuracy: number[] = [];
    const confirmed: number[] = [];
    const session = await OrtModel.fromNetwork(net);
    try {
      for (const e of eps) {
        const a = await new FGSM({ loss: 'ce' }).run(net, test.x, test.y, { epsilons: [e] });
        accuracy.push(a.predictions[0].reduce((s, p, i) => s + +(p === test.y[i]), 0) / test.n);
        if (e > 0) confirmed.push((await recheckWithOrt(net, a, test.y, { session })).confirmedCount[0]);
      }
    } finally {
      await session.dispose();
    }
    expect(j.accuracy).toEqual(accuracy);
    expect(j.recheck.confirmed).toEqual(confirmed);
    expect(j.recheck.rejected).toEqual(new Array(20).fill(0));
    // The attack bites: accuracy falls with eps (the test is not of a constant).
    expect(accuracy[20]).toBeLessThan(accuracy[0] - 0.3);
    // --sweep-method closed-form: the sweep's accuracies, the same re-check.
    const s = lastJson((await nrem(['attack', '--model', model, '--dataset', 'mnist', '--attack', 'fgsm', '--eps', eps.join(','), '--limit', '300', '--sweep-method', 'closed-form', '--json'])).out);
    expect(s.recheck).toEqual(j.recheck);
    s.accuracy.forEach((a: number, i: number) => expect(Math.abs(a - j.accuracy[i]), `eps ${eps[i]}`).toBeLessThanOrEqual(1 / 300 + 1e-12));
  }, 60_000);
});

describe('reproduce --timings', () => {
  it('per unit kind (computed, reused, total and max seconds) and the run\'s split, on stderr and in the JSON; a resumed run reuses every unit', async () => {
    const spec = validateSpec(microPatches());
    const file = join(dir, 'micro.json');
    writeFileSync(file, JSON.stringify(spec));
    const kinds = new Map<string, number>();
    for (const n of buildGraph(spec)) kinds.set(n.kind, (kinds.get(n.kind) ?? 0) + 1);
    const out = join(dir, 'out-micro');
    const r = await nrem(['reproduce', '--spec', file, '--out', out, '--json', '--timings']);
    expect(r.error).toBeUndefined();
    const j = lastJson(r.out);
    expect(Object.keys(j.timings)).toEqual(['startup', 'load', 'units', 'report', 'write', 'total']);
    expect(Object.keys(j.unitTimings).sort()).toEqual([...kinds.keys()].sort());
    for (const [kind, count] of kinds) {
      const t = j.unitTimings[kind];
      expect(t, kind).toMatchObject({ computed: count, reused: 0 });
      expect(t.maxSeconds, kind).toBeGreaterThan(0);
      expect(t.maxSeconds, kind).toBeLessThanOrEqual(t.seconds);
    }
    // The units' own times add up to no more than the run's units phase.
    const unitSum = Object.values(j.unitTimings as Record<string, { seconds: number }>).reduce((a, t) => a + t.seconds, 0);
    expect(unitSum).toBeLessThanOrEqual(j.timings.units + 0.01);
    expect(r.err).toMatch(/^nrem: kind +computed +reused +total s +max s$/m);
    expect(r.err).toMatch(/^nrem: train +1 +0 +\d+\.\d\d +\d+\.\d\d$/m);
    expect(r.err).toMatch(/^nrem: timings: startup \d+\.\d\d s, load \d+\.\d\d s, units \d+\.\d\d s, report \d+\.\d\d s, write \d+\.\d\d s \(total \d+\.\d\d s\)$/m);
    // Again in the same folder: nothing computed, every unit counted as reused.
    const again = lastJson((await nrem(['reproduce', '--spec', file, '--out', out, '--json', '--timings'])).out);
    for (const [kind, count] of kinds) expect(again.unitTimings[kind], kind).toEqual({ computed: 0, reused: count, seconds: 0, maxSeconds: 0 });
  }, 60_000);
});
