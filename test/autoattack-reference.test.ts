/**
 * nrem's AutoAttack against the original (fra31/auto-attack, PyTorch): FAB's projections on
 * the original's own outputs, the robust accuracy after each stage on the golden fixture's
 * control network (figures of the original stored in test/fixtures/autoattack with the
 * commands that made them), and the sanity checks where they must and must not fire.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addon } from '../src/native/binding.js';
import { Network, PGD, autoAttack, autoAttackSweep, checkProbabilities, checkRandomized, logitsOf } from '../src/index.js';
import { loadDataset } from '../src/data/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import { createNetwork, recipeOptions, train } from '../src/train/train.js';
import { distill } from '../src/defenses/distillation.js';
import { controlNetwork } from './helpers/control-net.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'autoattack');
const json = <T>(name: string): T => JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as T;

const pieces = json<{
  projections: { t: number[]; w: number[]; b: number; linf: number[]; l2: number[] }[];
  etas: { s: number; flip: boolean; eta: number[] }[];
}>('pieces.json');

describe("FAB's projections and Square's L2 proposals against the original's code", () => {
  const cases = pieces.projections;
  it.each(['linf', 'l2'] as const)('%s: the same step on 60 random hyperplanes (to 1e-5)', (norm) => {
    let worst = 0;
    for (const c of cases) {
      const delta = new Float32Array(c.t.length);
      addon().fabProject(norm, Float32Array.from(c.t), Float32Array.from(c.w), c.b, delta);
      c[norm].forEach((v, j) => (worst = Math.max(worst, Math.abs(v - delta[j]))));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it("Square's L2 proposal shape eta(s), transposed or not, for s = 1 … 25 (to 1e-6)", () => {
    for (const e of pieces.etas) {
      const ours = addon().squareEta(e.s, e.flip);
      expect(ours.length).toBe(e.s * e.s);
      e.eta.forEach((v, k) => expect(Math.abs(ours[k] - v)).toBeLessThan(1e-6));
    }
  });
});

interface OriginalRun {
  eps: number;
  stages: Record<'apgd-ce' | 'apgd-t' | 'fab-t' | 'square', number>;
  robust: number;
}

describe("AutoAttack standard on the golden fixture's control network against the original", () => {
  // The original's figures on the first 100 test digits (made_by in the file: its harness, seed 0, one
  // batch). The control network has a ReLU output; the attacks work on its pre-activation z_L
  // (AttackModel::logits), as the harness attacks it, and success is its deployed class. The random
  // streams differ (counter-based here, torch's there), so figures agree up to the luck of the starts:
  // within 1.0 point here (one digit), as ../shared/reference/autoattack-reference.md asks of the 1,000-digit
  // figures (original-control-1000.json; the report of issue 16 holds that comparison).
  const ref = json<{ n: number; clean: number; runs: OriginalRun[] }>('original-control-100.json');

  it('gives the same clean accuracy and, at eps 0.1 / 0.2 / 0.3, robust accuracy within 1.0 point after every stage', async () => {
    const t = head(loadMnist().test, ref.n);
    const rs = await autoAttackSweep(controlNetwork(), t.x, t.y, { epsilons: ref.runs.map((r) => r.eps), version: 'standard', seed: 0 });
    const pct = (v: number) => (100 * v).toFixed(1).padStart(5);
    const table = rs.map((r, e) =>
      `eps ${r.eps}: ` + r.stages.map((s) => `${s.attack} ${pct(s.robustAccuracy)} (original ${pct(ref.runs[e].stages[s.attack as keyof OriginalRun['stages']])})`).join(', '),
    );
    console.log(`AutoAttack on the control, first ${ref.n} digits, robust accuracy % after each stage:\n  ${table.join('\n  ')}`);
    expect(rs[0].cleanAccuracy).toBeCloseTo(ref.clean, 6);
    rs.forEach((r, e) => {
      const o = ref.runs[e];
      expect(r.eps).toBe(o.eps);
      expect(Math.abs(r.robustAccuracy - o.robust), `eps ${o.eps}: nrem ${r.robustAccuracy}, original ${o.robust}`).toBeLessThanOrEqual(0.01 + 1e-9);
      for (const s of r.stages)
        expect(Math.abs(s.robustAccuracy - o.stages[s.attack as keyof OriginalRun['stages']]), `eps ${o.eps}, ${s.attack}`).toBeLessThanOrEqual(0.01 + 1e-9);
      expect(r.maxPerturbation).toBeLessThanOrEqual(r.eps + 1e-6);
      expect(r.warnings).toEqual([]);
    });
  }, 900_000); // ~50 s alone on 2 cores; the limit only guards against a hang on a loaded machine
});

describe('the sanity checks fire on defensive distillation, not on the control', () => {
  // The defences test's setting: a 3,000 / 1,000 stratified MNIST subset, 784-64-10, the paper's recipe.
  it('zero gradients under APGD-CE on the distilled network (which APGD-T then sees through); none on the control', async () => {
    const s = await loadDataset('mnist', { quick: true, quickTrain: 3000, quickTest: 1000, seed: 3 });
    const sizes = [784, 64, 10];
    const control = createNetwork('paper', sizes, 3);
    await train(control, s.train, { ...recipeOptions('paper', 3), epochs: 10 });
    const { student } = await distill('paper', sizes, s.train, { temperature: 50, epochs: 10, seed: 3 });
    const t = head(s.test, 100);
    const transfer = (await new PGD({ steps: 10, relStep: 0.25 }).run(control, t.x, t.y, { epsilons: [0.1], seed: 1 })).clipped[0];
    const onControl = await autoAttack(control, t.x, t.y, { eps: 0.1 });
    const onStudent = await autoAttack(student, t.x, t.y, { eps: 0.1, transferExamples: transfer });
    expect(onControl.warnings).toEqual([]);
    expect(onControl.checks.map((c) => c.id).sort()).toEqual(['probabilities', 'randomized', 'square', 'zero-gradient', 'zero-gradient']);
    const fired = onStudent.checks.filter((c) => c.fired);
    expect(fired.map((c) => c.id)).toEqual(['zero-gradient']);
    expect(fired[0].value).toBeGreaterThan(0.3); // most of the attacked digits: the softmax at T = 1 is saturated
    expect(onStudent.warnings[0]).toMatch(/APGD-CE: \d+ of \d+ attacked examples .* zero loss gradient/);
    // The masking fools APGD-CE only: the scale-invariant DLR loss of APGD-T takes the robust accuracy down.
    const [ce, apgdT] = onStudent.stages;
    expect(ce.zeroGradient).toBeGreaterThan(0);
    expect(ce.robustAccuracy - apgdT.robustAccuracy).toBeGreaterThan(0.1);
    expect(onStudent.robustAccuracy).toBeLessThan(onControl.robustAccuracy + 0.1);
  }, 600_000);

  it('probabilities in place of logits, and outputs that change between passes', async () => {
    // A network whose "logits" are a probability vector: every row is (0.1, …, 0.1).
    const probs = new Network({ sizes: [784, 10], output: 'linear', biases: true });
    probs.setBias(0, new Float32Array(10).fill(0.1));
    const x = head(loadMnist().test, 20);
    expect(checkProbabilities(await logitsOf(probs, x.x, 20), 10).fired).toBe(true);
    expect(checkProbabilities(await logitsOf(controlNetwork(), x.x, 20), 10).fired).toBe(false);
    // A forward pass with noise in it (a randomised defence) against nrem's deterministic one.
    const net = controlNetwork();
    const rnd = (() => {
      let s = 1;
      return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    })();
    const noisy = async (xs: Float32Array, n: number) => (await logitsOf(net, xs, n)).map((v) => v + 0.01 * (rnd() - 0.5));
    expect((await checkRandomized(noisy, x.x, x.y, 20)).fired).toBe(true);
    expect((await checkRandomized((xs, n) => logitsOf(net, xs, n), x.x, x.y, 20)).fired).toBe(false);
  });
});
