/**
 * The whole pipeline on a tiny spec (the toy patches set, a 100-4 network, one seed):
 * interrupted by its AbortSignal after the first unit, resumed without redoing it,
 * finished, then re-run with every unit reused; results.json checked for structure and
 * sanity.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyPatches as tinySpec } from './helpers/small-specs.js';
import { runExperiment } from '../src/experiments/runner.js';
import { buildGraph } from '../src/experiments/graph.js';
import { realOps } from '../src/experiments/ops-real.js';
import type { Ops } from '../src/experiments/ops.js';
import type { RunEvent } from '../src/experiments/progress.js';
import { RESULTS_SCHEMA_VERSION, type Results } from '../src/experiments/results.js';
import { AbortError } from '../src/errors.js';

/** realOps with a call counter per operation. */
function counting(): { ops: Ops; calls: Record<string, number> } {
  const base = realOps();
  const calls: Record<string, number> = {};
  const ops = Object.fromEntries(
    Object.entries(base).map(([k, f]) => [k, (...a: unknown[]) => ((calls[k] = (calls[k] ?? 0) + 1), (f as (...x: unknown[]) => unknown)(...a))]),
  ) as unknown as Ops;
  return { ops, calls };
}

const out = mkdtempSync(join(tmpdir(), 'nrem-e2e-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const spec = tinySpec();
const total = buildGraph(spec).length;

describe('experiment runner on the patches set', () => {
  it('stops on its AbortSignal after the first unit, keeping that unit', async () => {
    const ac = new AbortController();
    const ended: string[] = [];
    const onEvent = (e: RunEvent) => {
      if (e.type === 'unit-end') {
        ended.push(e.label);
        ac.abort();
      }
    };
    await expect(runExperiment(spec, { out, ops: realOps(), signal: ac.signal, onEvent, report: false })).rejects.toBeInstanceOf(AbortError);
    expect(ended).toEqual(['seed 1 / control']);
    const units = readdirSync(join(out, 'units'));
    expect(units.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(units.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(out, 'results.json'))).toBe(false);
  });

  let results: Results;
  it('resumes without redoing the finished unit and completes the study', async () => {
    const { ops, calls } = counting();
    const events: RunEvent[] = [];
    results = await runExperiment(spec, { out, ops, onEvent: (e) => events.push(e), report: true });
    expect(calls.train ?? 0).toBe(0); // the control came from the store
    expect(results.units).toEqual({ computed: total - 1, reused: 1 });
    const reusedLabels = events.filter((e) => e.type === 'unit-end' && e.reused).map((e) => (e as { label: string }).label);
    expect(reusedLabels).toEqual(['seed 1 / control']);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(results)));
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');
  });

  it('writes a results.json whose figures are sane', () => {
    const r = results;
    expect(r.schemaVersion).toBe(RESULTS_SCHEMA_VERSION);
    expect(r.seeds).toEqual([1]);
    expect(r.networks.map((n) => n.id).sort()).toEqual(
      ['control', 'distillation', 'finetune-blur', 'finetune-deepfool', 'finetune-fgsm', 'finetune-noise', 'pgd-train', 'sleep'].sort(),
    );
    const inUnit = (v: number) => v >= 0 && v <= 1;
    for (const n of r.networks) {
      expect(inUnit(n.cleanAccuracy.mean)).toBe(true);
      expect(n.costSeconds.mean).toBeGreaterThanOrEqual(0);
    }
    // The task is learnable: the control is far above chance (4 classes).
    expect(r.networks.find((n) => n.id === 'control')!.cleanAccuracy.mean).toBeGreaterThan(0.6);
    expect(r.curves.map((c) => c.id).sort()).toEqual(['blur', 'fgsm-ce', 'fgsm-mse', 'noise', 'pgd', 'square', 'transfer'].sort());
    for (const c of r.curves) {
      for (const s of c.series) {
        expect(s.accuracy).toHaveLength(c.x.length);
        for (const a of s.accuracy) expect(inUnit(a.mean)).toBe(true);
        // White-box attacks with a growing budget do not raise accuracy (transfer may: its examples
        // are aimed at the control, not at the network evaluated).
        if (c.id === 'pgd' || c.id === 'square')
          expect(s.accuracy[s.accuracy.length - 1].mean, `${c.id} / ${s.network}`).toBeLessThanOrEqual(s.accuracy[0].mean + 1e-9);
        if (c.id.startsWith('fgsm')) expect(s.accuracy[s.accuracy.length - 1].mean).toBeLessThanOrEqual(s.accuracy[0].mean + 1e-9);
      }
      // At strength 0 every curve starts at the network's clean accuracy on the same rows.
      if (c.id.startsWith('fgsm') || c.id === 'noise' || c.id === 'blur')
        for (const s of c.series) expect(s.accuracy[0].mean).toBeCloseTo(r.networks.find((n) => n.id === s.network)!.cleanAccuracy.mean, 10);
    }
    for (const p of r.perturbations) {
      expect(inUnit(p.successRate.mean)).toBe(true);
      if (p.medianL2) expect(p.medianL2.mean).toBeGreaterThan(0);
    }
    expect(r.perturbations.some((p) => p.attack === 'deepfool' && p.network === 'finetune-deepfool')).toBe(true);
    expect(r.sleep.spikesPerLayer).toHaveLength(2);
    expect(r.sleep.spikesPerLayer[0].mean).toBeGreaterThan(0);
    expect(r.sleep.input).toMatch(/^mean/);
    // AutoAttack, the headline: per network, worst case below every stage before it, at most the clean accuracy.
    expect(r.autoattack!.map((a) => a.network).sort()).toEqual(['control', 'distillation', 'finetune-fgsm', 'pgd-train', 'sleep'].sort());
    for (const a of r.autoattack!) {
      expect(a.eps).toEqual([0.1, 0.3]);
      expect(a.stages.map((s) => s.attack)).toEqual(['apgd-ce', 'apgd-t', 'fab-t', 'square']);
      a.eps.forEach((_, e) => {
        expect(a.robust[e].mean).toBeLessThanOrEqual(a.cleanAccuracy.mean);
        expect(a.robust[e].mean).toBe(a.stages[3].robust[e].mean);
        for (let s = 1; s < 4; s++) expect(a.stages[s].robust[e].mean).toBeLessThanOrEqual(a.stages[s - 1].robust[e].mean);
      });
      expect(a.robust[1].mean).toBeLessThanOrEqual(a.robust[0].mean);
      const pgd = r.curves.find((c) => c.id === 'pgd')!.series.find((s) => s.network === a.network)!;
      // On the same first 50 images as PGD's, at eps 0.1 and 0.3: never above the 5-step PGD's accuracy.
      expect(a.robust[0].mean).toBeLessThanOrEqual(pgd.accuracy[1].mean + 1e-9);
    }
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('AutoAttack: the headline robust accuracy');
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('**Verdict (AutoAttack):**');
  });

  it('a third run finds every unit finished and recomputes nothing', async () => {
    const { ops, calls } = counting();
    const r = await runExperiment(spec, { out, ops, report: false });
    expect(r.units).toEqual({ computed: 0, reused: total });
    expect(Object.keys(calls).filter((k) => k !== 'loadData')).toEqual([]);
    expect(r.curves).toEqual(results.curves);
  });
});
