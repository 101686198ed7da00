import { describe, expect, it } from 'vitest';
import { answers, writeReport } from '../src/report/report.js';
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
