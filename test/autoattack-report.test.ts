/**
 * The report's headline robust accuracy is AutoAttack's, and the verdict follows its numbers
 * (synthetic results: the wording, not a run).
 */
import { describe, expect, it } from 'vitest';
import { answers, autoattackGain, writeReport } from '../src/report/report.js';
import { syntheticResults } from './helpers/synthetic-results.js';
import { builtinSpec, validateSpec } from '../src/experiments/spec.js';

describe("the report's AutoAttack headline and verdict", () => {
  it('puts AutoAttack first: the headline figures, a section with every stage, the warnings beside the figures', async () => {
    const r = syntheticResults({ sleepGain: 0.05, aaGain: 0.04, aaWarning: true });
    const a = answers(r);
    expect(a.headline.some((s) => /\*\*Robust accuracy under AutoAttack\*\* \(eps 0\.1 \/ 0\.2 \/ 0\.3, 100 test images/.test(s))).toBe(true);
    expect(a.headline.some((s) => /sleep 44\.0 ± 0\.4 % ⚠ \/ 24\.0/.test(s))).toBe(true); // the warning marks the figure it undermines
    const { markdown } = await writeReport(r);
    expect(markdown).toContain('## AutoAttack: the headline robust accuracy');
    expect(markdown).toContain('### Robust accuracy after each attack, eps 0.2');
    expect(markdown).toMatch(/\| APGD-CE \| APGD-T \| FAB-T \| SQUARE \|/);
    expect(markdown).toMatch(/⚠ \*\*sleep\*\* \(seed 1, eps 0\.1\) — zero-gradient: APGD-CE: 40 of 90/);
    // The single attacks stay as their own sections.
    expect(markdown).toContain("Does sleep's robustness survive PGD, Square and transfer attacks?");
  });

  it('draws the verdict from AutoAttack: better, worse, or no clear effect despite FGSM', () => {
    const better = answers(syntheticResults({ sleepGain: 0.05, aaGain: 0.04 }));
    expect(better.q1.some((s) => /\*\*Verdict \(AutoAttack\):\*\* yes — sleep raises/.test(s))).toBe(true);
    expect(better.headline.at(-1)).toMatch(/Verdict \(AutoAttack\)/);
    const worse = answers(syntheticResults({ sleepGain: 0.05, aaGain: -0.04 }));
    expect(worse.q1.some((s) => /\*\*Verdict \(AutoAttack\):\*\* no — sleep lowers/.test(s))).toBe(true);
    // FGSM says sleep helps, AutoAttack sees nothing: the masking signature, said so.
    const masked = answers(syntheticResults({ sleepGain: 0.05, aaGain: 0 }));
    expect(masked.q1.some((s) => /no clear effect .* signature of gradient masking/.test(s))).toBe(true);
    expect(masked.q1.some((s) => /\*\*Against the single attacks:\*\*/.test(s))).toBe(true);
    // Without AutoAttack figures the verdict is the single attacks' (older results).
    expect(answers(syntheticResults({ sleepGain: 0.05 })).q1.some((s) => /^\*\*Verdict:\*\* yes/.test(s))).toBe(true);
    const g = autoattackGain(syntheticResults({ sleepGain: 0, aaGain: 0.04 }))!;
    expect(g.mean.mean).toBeCloseTo(0.04, 2); // (the jitter clamps at 0 for the control at eps 0.3)
    expect(g.perEps.map((p) => p.eps)).toEqual([0.1, 0.2, 0.3]);
  });
});

describe('the autoattack evaluation of a spec', () => {
  it('is in the built-in specs (quick: 50 digits, stated) and a bad one is refused naming the field', () => {
    const quick = builtinSpec('paper-mnist', { quick: true });
    expect(quick.evaluation.autoattack).toEqual({ n: 50, eps: [0.1, 0.2, 0.3], version: 'standard', norm: 'linf' });
    expect(quick.subsetNote).toMatch(/AutoAttack 50/);
    expect(builtinSpec('paper-mnist').evaluation.autoattack!.n).toBeGreaterThan(quick.evaluation.autoattack!.n);
    // The CNN and Fashion-MNIST studies too, their quick versions stating how many images AutoAttack sees.
    for (const name of ['cnn-mnist', 'cnn-fashion', 'mlp-fashion']) {
      const q = builtinSpec(name, { quick: true });
      expect(q.subsetNote).toContain(`AutoAttack ${q.evaluation.autoattack!.n}`);
      expect(builtinSpec(name).evaluation.autoattack!.n).toBeGreaterThan(q.evaluation.autoattack!.n);
    }
    const bad = (aa: unknown) => {
      const s = builtinSpec('paper-mnist', { quick: true });
      (s.evaluation as unknown as Record<string, unknown>).autoattack = aa;
      return () => validateSpec(s);
    };
    expect(bad({ n: 10, eps: [1.5], version: 'standard', norm: 'linf' })).toThrow(/spec\.evaluation\.autoattack\.eps\[0\]/);
    expect(bad({ n: 10, eps: [0.1], version: 'rand', norm: 'linf' })).toThrow(/spec\.evaluation\.autoattack\.version/);
    expect(bad({ n: 10, eps: [0.1], version: 'standard', norm: 'l1' })).toThrow(/spec\.evaluation\.autoattack\.norm/);
    expect(bad({ n: -1, eps: [0.1], version: 'standard', norm: 'linf' })).toThrow(/spec\.evaluation\.autoattack\.n/);
    expect(bad(undefined)).not.toThrow(); // older specs without it
  });
});
