import { describe, expect, it } from 'vitest';
import { maskingChecks, answers, writeReport } from '../src/report/report.js';
import { syntheticResults } from './helpers/synthetic-results.js';

describe('report', () => {
  it('renders Markdown and one self-contained HTML file with inline SVG figures', async () => {
    const r = syntheticResults({ sleepGain: 0.05 });
    const { markdown, html, figures } = await writeReport(r);
    const ids = figures.map((f) => f.id);
    for (const id of ['curve-fgsm-mse', 'curve-noise', 'curve-blur', 'curve-pgd', 'curve-square', 'curve-transfer', 'pert-l2', 'pert-l0', 'clean', 'sleep'])
      expect(ids).toContain(id);
    for (const f of figures) expect(f.svg.startsWith('<svg')).toBe(true);
    expect((html.match(/<svg/g) ?? []).length).toBe(figures.length);
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(markdown).toContain('noise variance');
    expect(markdown).toMatch(/Sleep input: sequence/);
    expect(markdown).toContain("Does sleep's robustness survive PGD, Square and transfer attacks?");
    expect(markdown).toContain('What does sleep cost in clean accuracy?');
    expect(markdown).toContain('−1.0 ± 0.0 points');
  });

  it('says what the numbers say: robust, masked, or harmful', () => {
    const robust = answers(syntheticResults({ sleepGain: 0.05 }));
    expect(robust.q1.some((s) => /Verdict:\*\* yes/.test(s))).toBe(true);
    const masked = answers(syntheticResults({ sleepGain: 0.05, pgdGain: -0.03 }));
    expect(masked.q1.some((s) => /Verdict:\*\* no — sleep helps against FGSM/.test(s))).toBe(true);
    const harmful = answers(syntheticResults({ sleepGain: -0.05 }));
    expect(harmful.q1.some((s) => /does not improve white-box FGSM/.test(s))).toBe(true);
    expect(harmful.headline.some((s) => /Gaussian noise\*\*: sleep hurts/.test(s))).toBe(true);
  });
});

describe('maskingChecks', () => {
  const curve = (id: string, clean: [number, number], at02: [number, number]) => ({
    id,
    x: [0, 0.2],
    series: [
      { network: 'control', accuracy: [{ mean: clean[0] }, { mean: at02[0] }] },
      { network: 'distillation', accuracy: [{ mean: clean[1] }, { mean: at02[1] }] },
    ],
  });
  it('flags a network only when Square beats PGD by 10 points of the clean accuracy of its own images', () => {
    // control: PGD keeps 40/95 = 42 %, Square 35/98 = 36 % of correct images (6 points: not masking);
    // distillation: PGD keeps 74/94, Square 2/97 (77 points: masking).
    const r = { curves: [curve('pgd', [0.95, 0.94], [0.4, 0.74]), curve('square', [0.98, 0.97], [0.35, 0.02])] } as unknown as Parameters<typeof maskingChecks>[0];
    const out = maskingChecks(r);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/defensive distillation/);
  });
});
