/**
 * The study report: every figure of the run, and the answers, in words, to the questions
 * of experiments.md §6, computed from this run's numbers only (nothing is tuned or
 * hard-coded: a run where sleep hurts says so).
 */
import { writeAtomicSync } from '../util/atomic.js';
import { join } from 'node:path';
import type { AutoAttackSummary, Curve, NetworkId, Results, Stat } from '../experiments/results.js';
import { NETWORK_LABELS, stat } from '../experiments/results.js';
import { buildFigures, type Figure } from './plots.js';
import { toHtml, toMarkdown, type Block } from './document.js';

// ---------- number formatting ----------
const pct = (v: number) => (100 * v).toFixed(1);
/** Where the control came from, in words (the user's file or nrem's training). */
function controlLine(r: Results): string {
  const sp = r.spec;
  const c = r.control;
  if (c?.source === 'model')
    return `Control: **the given network** \`${c.model}\` (sha256 ${c.sha256.slice(0, 16)}…), ${c.arch}; the defences start from it (fine-tuning${sp.defences.pgdTrain?.fromControl ? ', PGD training' : ''}) or are trained to its architecture with recipe \`${c.recipe}\`.`;
  const words = c?.arch ?? (sp.train.sizes ?? []).join('-');
  const arch = typeof sp.train.arch === 'string' && sp.train.arch !== words ? `${sp.train.arch} (${words})` : words;
  return `Control trained by nrem: ${arch} (input size and classes from the data when 0), recipe \`${sp.train.recipe}\`, ${sp.train.epochs} epochs.`;
}

/** Which sleep parameters ran: a preset, or nrem tune's search for this network. */
function sleepLine(r: Results): string {
  const s = r.sleep;
  const head = `${s.steps.toLocaleString('en-US')} steps; sleep input: ${s.input}.`;
  if (!s.tuned) return `Sleep: preset \`${s.preset}\`, ${head}`;
  const t = s.tuned;
  const base = t.baseline ? `, preset ${t.baseline.name} ${num(t.baseline.score.mean, 4)}` : '';
  return (
    `Sleep: parameters **tuned for this network by nrem tune** (${t.algorithm}, ${t.budget} candidates, objective ${t.objective}, on the last ${int(t.valRows)} training rows held out as validation; the test set is not used): ` +
    `validation score ${num(t.score.mean, 4)} against the control's ${num(t.controlScore.mean, 4)}${base}. ${head}`
  );
}

export function fmtAcc(s: Stat | undefined): string {
  if (!s || !Number.isFinite(s.mean)) return '–';
  return s.values.length > 1 ? `${pct(s.mean)} ± ${pct(s.sd)} %` : `${pct(s.mean)} %`;
}
const signed = (v: number, digits = 1) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
/** A paired difference in points, with its spread over seeds. */
export function fmtPts(d: Stat): string {
  return d.values.length > 1 ? `${signed(100 * d.mean)} ± ${(100 * d.sd).toFixed(1)} points` : `${signed(100 * d.mean)} points`;
}
const num = (v: number, d = 2) => (!Number.isFinite(v) ? '–' : v !== 0 && Math.abs(v) < 10 ** -d * 5 ? v.toPrecision(2) : v.toFixed(d));
const fmtStat = (s: Stat | undefined, d = 2) => (!s ? '–' : s.values.length > 1 ? `${num(s.mean, d)} ± ${num(s.sd, d)}` : num(s.mean, d));
const int = (v: number) => Math.round(v).toLocaleString('en-US');

/** Paired (per-seed) difference a − b. */
export function diff(a: Stat, b: Stat): Stat {
  return stat(a.values.map((v, i) => v - b.values[i]));
}

/** 'better' / 'worse' when |mean| is at least 1 point and exceeds two standard errors over seeds. */
export function verdictOf(d: Stat, minPoints = 1): 'better' | 'worse' | 'unclear' {
  const n = d.values.length;
  const se = n > 1 ? d.sd / Math.sqrt(n) : 0;
  if (Math.abs(d.mean) * 100 < minPoints) return 'unclear';
  if (n > 1 && Math.abs(d.mean) <= 2 * se) return 'unclear';
  return d.mean > 0 ? 'better' : 'worse';
}

function series(c: Curve | undefined, id: NetworkId): Stat[] | undefined {
  return c?.series.find((s) => s.network === id)?.accuracy;
}

/** Indices of x closest to each wanted value (deduplicated, in order). */
function pick(x: number[], wanted: number[]): number[] {
  const idx = wanted.map((w) => x.reduce((best, v, i) => (Math.abs(v - w) < Math.abs(x[best] - w) ? i : best), 0));
  return [...new Set(idx)].sort((a, b) => a - b);
}

function curveTable(c: Curve, wanted: number[]): Block {
  const cols = pick(c.x, wanted);
  return {
    kind: 'table',
    head: ['network', ...cols.map((i) => `${c.xLabel} ${c.x[i]}`)],
    rows: c.series.map((s) => [NETWORK_LABELS[s.network], ...cols.map((i) => fmtAcc(s.accuracy[i]))]),
  };
}

/** Sleep − control over the non-zero x of a curve: mean, per-x diffs. */
function sleepGain(c: Curve | undefined): { mean: Stat; perX: { x: number; d: Stat }[] } | undefined {
  const s = series(c, 'sleep');
  const k = series(c, 'control');
  if (!c || !s || !k) return undefined;
  const perX = c.x.map((x, i) => ({ x, d: diff(s[i], k[i]) })).filter((p) => p.x > 0);
  if (!perX.length) return undefined;
  const seeds = perX[0].d.values.length;
  const avg = Array.from({ length: seeds }, (_, j) => perX.reduce((a, p) => a + p.d.values[j], 0) / perX.length);
  return { mean: stat(avg), perX };
}

function describeGain(name: string, c: Curve | undefined): string | undefined {
  const g = sleepGain(c);
  if (!c || !g) return undefined;
  const lo = g.perX.reduce((a, p) => (p.d.mean < a.d.mean ? p : a));
  const hi = g.perX.reduce((a, p) => (p.d.mean > a.d.mean ? p : a));
  const v = verdictOf(g.mean);
  const word = v === 'better' ? 'helps' : v === 'worse' ? 'hurts' : 'makes no clear difference';
  return (
    `**${name}**: sleep ${word} — accuracy of the slept network minus the control, averaged over ${c.xLabel} ` +
    `${g.perX[0].x}–${g.perX[g.perX.length - 1].x}: ${fmtPts(g.mean)} (from ${signed(100 * lo.d.mean)} at ${c.xLabel} ${lo.x} ` +
    `to ${signed(100 * hi.d.mean)} at ${c.xLabel} ${hi.x}).`
  );
}

/**
 * Gradient-masking check per network: at a common eps, a gradient-free attack (Square, with a
 * small query budget, normally the weaker one) that leaves clearly lower accuracy than
 * white-box PGD means the gradients mislead PGD. The two attacks run on different numbers of
 * test images, so each curve is first divided by its own clean (eps 0) accuracy: the
 * fraction of correctly classified images that survive. "Clearly" = at least 10 points.
 */
export function maskingChecks(r: Results): string[] {
  const pgd = r.curves.find((x) => x.id === 'pgd');
  const sq = r.curves.find((x) => x.id === 'square');
  if (!pgd || !sq) return [];
  const out: string[] = [];
  const at = (c: { x: number[] }, e: number) => c.x.findIndex((v) => Math.abs(v - e) < 1e-9);
  for (const s of pgd.series) {
    const q = sq.series.find((x) => x.network === s.network);
    if (!q) continue;
    const p0 = at(pgd, 0), q0 = at(sq, 0);
    const pClean = p0 >= 0 ? s.accuracy[p0].mean : 1;
    const qClean = q0 >= 0 ? q.accuracy[q0].mean : 1;
    const gaps = sq.x
      .map((e, j) => ({ e, j, i: at(pgd, e) }))
      .filter((g) => g.e > 0 && g.i >= 0)
      .map((g) => ({ e: g.e, pgd: s.accuracy[g.i].mean, sq: q.accuracy[g.j].mean }))
      .map((g) => ({ ...g, gap: (pClean > 0 ? g.pgd / pClean : 0) - (qClean > 0 ? g.sq / qClean : 0) }));
    const worst = gaps.reduce<(typeof gaps)[number] | undefined>((a, g) => (!a || g.gap > a.gap ? g : a), undefined);
    if (worst && worst.gap >= 0.1)
      out.push(
        `Gradient masking in **${NETWORK_LABELS[s.network]}**: at eps ${worst.e} the gradient-free Square attack leaves ${pct(worst.sq)} % accuracy (of ${pct(qClean)} % clean on its images), white-box PGD ${pct(worst.pgd)} % (of ${pct(pClean)} %) — its gradients mislead PGD, so its PGD and FGSM figures overstate its robustness.`,
      );
  }
  if (!out.length) out.push('No network shows the masking signature (Square clearly stronger than PGD at the same eps).');
  return out;
}

/** Sleep − control AutoAttack robust accuracy, per seed averaged over the eps > 0, and per eps. */
export function autoattackGain(r: Results): { mean: Stat; perEps: { eps: number; d: Stat }[]; summary: { control: AutoAttackSummary; sleep: AutoAttackSummary } } | undefined {
  const control = r.autoattack?.find((a) => a.network === 'control');
  const sleep = r.autoattack?.find((a) => a.network === 'sleep');
  if (!control || !sleep) return undefined;
  const perEps = control.eps.map((eps, e) => ({ eps, d: diff(sleep.robust[e], control.robust[e]) })).filter((p) => p.eps > 0);
  if (!perEps.length) return undefined;
  const seeds = perEps[0].d.values.length;
  const avg = Array.from({ length: seeds }, (_, j) => perEps.reduce((a, p) => a + p.d.values[j], 0) / perEps.length);
  return { mean: stat(avg), perEps, summary: { control, sleep } };
}

/** The AutoAttack verdict: does sleep raise the worst-case robust accuracy? */
function autoattackVerdict(r: Results, fgsmV: 'better' | 'worse' | 'unclear'): string | undefined {
  const g = autoattackGain(r);
  if (!g) return undefined;
  const v = verdictOf(g.mean);
  const { control, sleep } = g.summary;
  const figures = g.perEps.map((p) => {
    const e = control.eps.indexOf(p.eps);
    return `eps ${p.eps}: ${fmtAcc(sleep.robust[e])} vs ${fmtAcc(control.robust[e])}`;
  });
  const flagged = [...new Set([...control.warnings, ...sleep.warnings].map((w) => w.id))];
  const caveat = flagged.length ? ` The sanity checks flagged ${flagged.join(', ')} on these networks (see the AutoAttack section): read these figures with that in mind.` : '';
  const base = `robust accuracy under AutoAttack (${control.version}, ${control.norm === 'linf' ? 'L∞' : 'L2'}, worst case per example, ${control.n} test images), slept network minus the control averaged over eps: ${fmtPts(g.mean)} (${figures.join('; ')}).`;
  if (v === 'better')
    return `**Verdict (AutoAttack):** yes — sleep raises the ${base}${fgsmV === 'better' ? " Sleep's FGSM advantage survives the strongest standard evaluation." : ''}${caveat}`;
  if (v === 'worse') return `**Verdict (AutoAttack):** no — sleep lowers the ${base}${caveat}`;
  return (
    `**Verdict (AutoAttack):** no clear effect — sleep does not clearly change the ${base}` +
    (fgsmV === 'better' ? ' An advantage against FGSM that does not survive AutoAttack is the signature of gradient masking, not robustness.' : '') +
    caveat
  );
}

/** Answers to experiments.md §6 questions 1 and 2, from the numbers. */
export function answers(r: Results): { q1: string[]; q2: string[]; headline: string[] } {
  const c = (id: string) => r.curves.find((x) => x.id === id);
  // The FGSM curve the verdict rests on: the spec's first loss (the paper's squared error for its MLPs, cross-entropy for the CNN studies).
  const fgId = r.spec.evaluation.fgsm.losses[0] === 'ce' && c('fgsm-ce') ? 'fgsm-ce' : 'fgsm-mse';
  const fg = sleepGain(c(fgId));
  const strong = (['pgd', 'square', 'transfer'] as const).map((id) => ({ id, g: sleepGain(c(id)) }));
  const q1: string[] = [];
  for (const [id, name] of [
    ['fgsm-mse', "FGSM, the paper's squared-error loss"],
    ['fgsm-ce', 'FGSM, cross-entropy loss'],
    ['pgd', 'PGD (white-box, iterative)'],
    ['square', 'Square attack (gradient-free)'],
    ['transfer', 'transfer from the control'],
  ] as const) {
    const s = describeGain(name, c(id));
    if (s) q1.push(s);
  }
  const fgV = fg ? verdictOf(fg.mean) : 'unclear';
  const NAMES: Record<string, string> = { pgd: 'PGD', square: 'the Square attack', transfer: 'the transfer attack' };
  const names = (ids: string[]) => ids.map((i) => NAMES[i] ?? i).join(', ');
  const strongV = strong.filter((s) => s.g).map((s) => ({ id: s.id, v: verdictOf(s.g!.mean) }));
  let verdict: string;
  if (!fg) verdict = 'This run has no FGSM curve for the slept network, so the question cannot be answered.';
  else if (fgV !== 'better')
    verdict =
      `**Verdict:** in this run sleep does not improve white-box FGSM accuracy on average (${fmtPts(fg.mean)}), so there is no ` +
      `FGSM robustness to survive; ${strongV.some((s) => s.v === 'better') ? `it is clearly better than the control only against ${names(strongV.filter((s) => s.v === 'better').map((s) => s.id))}.` : 'nor is it clearly more robust than the control against the stronger attacks.'}`;
  else if (strongV.length && strongV.every((s) => s.v === 'better'))
    verdict = `**Verdict:** yes — sleep's advantage over the control holds against ${names(strongV.map((s) => s.id))} as well, which argues against pure gradient masking.`;
  else
    verdict =
      `**Verdict:** no — sleep helps against FGSM (${fmtPts(fg.mean)}) but not against ${names(strongV.filter((s) => s.v !== 'better').map((s) => s.id)) || 'the stronger attacks'}: ` +
      'an advantage that disappears under a gradient-free or transferred attack is the signature of gradient masking, not robustness.';
  // AutoAttack, when the run has it, gives the verdict; the single attacks stay as context.
  const aaVerdict = autoattackVerdict(r, fgV);
  if (aaVerdict) {
    q1.push(verdict.replace('**Verdict:**', '**Against the single attacks:**'));
    verdict = aaVerdict;
  }
  q1.push(verdict);
  const tr = c('transfer');
  const trS = sleepGain(tr);
  if (tr && trS) {
    const others = tr.series
      .filter((s) => s.network !== 'control' && s.network !== 'sleep')
      .map((s) => {
        const k = series(tr, 'control')!;
        const d = s.accuracy.map((a, i) => a.mean - k[i].mean).filter((_, i) => tr.x[i] > 0);
        return `${NETWORK_LABELS[s.network]} ${signed((100 * d.reduce((x, y) => x + y, 0)) / d.length)}`;
      });
    if (others.length)
      q1.push(
        `Transfer examples are aimed at the control, so any network that differs from it resists them better; compare sleep's ${signed(100 * trS.mean.mean)} points with the other networks (mean over eps, points vs the control): ${others.join(', ')}.`,
      );
  }
  q1.push(...maskingChecks(r));
  const pgdT = series(c('pgd'), 'pgd-train');
  const pgdS = series(c('pgd'), 'sleep');
  const pc = c('pgd');
  if (pc && pgdT && pgdS) {
    const i = pick(pc.x, [0.1])[0];
    q1.push(`For reference, at PGD eps ${pc.x[i]} PGD adversarial training keeps ${fmtAcc(pgdT[i])} accuracy, sleep ${fmtAcc(pgdS[i])}.`);
  }

  const q2: string[] = [];
  const ctl = r.networks.find((n) => n.id === 'control');
  const slp = r.networks.find((n) => n.id === 'sleep');
  if (ctl && slp) {
    const d = slp.cleanDelta;
    q2.push(
      `Sleep changes clean test accuracy by **${fmtPts(d)}** (control ${fmtAcc(ctl.cleanAccuracy)} → slept ${fmtAcc(slp.cleanAccuracy)}; ` +
        `per seed: ${d.values.map((v) => signed(100 * v, 2)).join(' / ')} points).`,
    );
    for (const n of r.networks.filter((x) => x.id !== 'control' && x.id !== 'sleep'))
      q2.push(`${n.label}: clean accuracy ${fmtAcc(n.cleanAccuracy)} (${fmtPts(n.cleanDelta)} vs the control), built in ${fmtStat(n.costSeconds, 1)} s.`);
    q2.push(`Sleep itself takes ${fmtStat(slp.costSeconds, 1)} s per network (${r.sleep.steps.toLocaleString('en-US')} steps).`);
  }

  const headline: string[] = [];
  if (ctl && slp) headline.push(`Clean accuracy: control ${fmtAcc(ctl.cleanAccuracy)}, slept ${fmtAcc(slp.cleanAccuracy)} (${fmtPts(slp.cleanDelta)}).`);
  if (r.autoattack?.length) {
    const parts = r.autoattack.map((a) => `${NETWORK_LABELS[a.network]} ${a.eps.map((e, i) => `${fmtAcc(a.robust[i])}${a.warnings.some((w) => w.eps === e) ? ' ⚠' : ''}`).join(' / ')}`);
    headline.push(`**Robust accuracy under AutoAttack** (eps ${r.autoattack[0].eps.join(' / ')}, ${r.autoattack[0].n} test images; ⚠ = a sanity check fired): ${parts.join('; ')}.`);
  }
  for (const [id, name] of [
    ['noise', 'Gaussian noise'],
    ['blur', 'Gaussian blur'],
    [fgId, fgId === 'fgsm-ce' ? 'FGSM (cross-entropy)' : 'FGSM (paper loss)'],
  ] as const) {
    const s = describeGain(name, c(id));
    if (s) headline.push(s);
  }
  headline.push(verdict);
  return { q1, q2, headline };
}

/** The report as blocks (shared by Markdown and HTML). */
export function reportBlocks(r: Results): Block[] {
  const b: Block[] = [];
  const c = (id: string) => r.curves.find((x) => x.id === id);
  const a = answers(r);
  const sp = r.spec;
  const ds = r.data.source ?? sp.data;
  b.push({ kind: 'h1', text: sp.title });
  b.push({
    kind: 'p',
    text:
      `nrem ${r.nrem.version}, experiment \`${sp.name}\`${sp.quick ? ' (**quick**)' : ''}, seeds ${r.seeds.join(', ')}. Data set \`${ds}\` (${r.data.name}): ${r.data.note} ` +
      `(${int(r.data.train)} training / ${int(r.data.test)} test rows). Run ${r.finishedAt}, ${num(r.wallSeconds, 0)} s wall ` +
      `(${r.units.computed} units computed, ${r.units.reused} reused from the store); ${r.environment.threads} threads, GEMM ${r.environment.gemm}.`,
  });
  b.push({ kind: 'h2', text: 'In short' });
  b.push({ kind: 'list', items: a.headline });

  b.push({ kind: 'h2', text: 'Setting' });
  const d = sp.defences;
  b.push({
    kind: 'list',
    items: [
      controlLine(r),
      sleepLine(r),
      d.distillation ? `Defensive distillation: teacher trained with softmax at T = ${d.distillation.temperature} on hard labels, student (same architecture) on the teacher's soft labels at T, deployed at T = 1; ${d.distillation.epochs} epochs each.` : 'No distillation.',
      d.finetune ? `Fine-tuning from the control: lr ${d.finetune.lr}, ${d.finetune.epochs} epochs, first ${int(d.finetune.replace)} training images replaced by perturbed ones (FGSM with u ~ U(0, ${d.finetune.uMax}); noise of variance ${d.finetune.noiseVariance}; blur sigma ${d.finetune.blurSigma}${d.finetune.attacks.length ? `; ${d.finetune.attacks.join(', ')} examples replacing the first ${int(d.finetune.attackReplace)}` : ''}).` : 'No fine-tuning.',
      d.pgdTrain
        ? `PGD adversarial training (Madry): eps ${d.pgdTrain.eps}, ${d.pgdTrain.steps} steps of ${d.pgdTrain.stepSize}, ${d.pgdTrain.epochs} epochs${d.pgdTrain.fromControl ? ', **starting from the control** (adversarial fine-tuning, to fit the quick budget)' : ' from fresh weights'}.`
        : 'No PGD training.',
      'Noise is Gaussian with mean 0; the axis is its **variance** (the authors\' plot says "std"; it is a variance), images clipped to [0, 1].',
      'All attacks are white-box on each network itself (gradients in test mode), except transfer (PGD examples crafted on the control). PGD, Square, transfer, DeepFool, JSMA and C&W examples count as adversarial only when ONNX Runtime, running the exported network, confirms the misclassification; the FGSM sweep, noise and blur use nrem\'s native forward pass.',
      'DeepFool, JSMA and C&W attack the correctly classified images among the first n test images; their norms are over successful examples.',
      ...(r.autoattack?.length
        ? [
            `AutoAttack (the headline robust accuracy): version \`${r.autoattack[0].version}\`, ${r.autoattack[0].norm === 'linf' ? 'L∞' : 'L2'}, on the first ${r.autoattack[0].n} test images at eps ${r.autoattack[0].eps.join(', ')}, with the original's budgets (APGD 100 iterations, 9 target classes or as many as there are, FAB-T 100 iterations, Square 5,000 queries); networks other than the control are also checked against PGD examples transferred from the control.`,
          ]
        : []),
    ],
  });

  b.push({ kind: 'h2', text: 'Clean accuracy and the cost of each defence' });
  b.push({
    kind: 'table',
    head: ['network', 'clean accuracy', 'vs control', 'build time (s)'],
    rows: r.networks.map((n) => [n.label, fmtAcc(n.cleanAccuracy), n.id === 'control' ? '–' : fmtPts(n.cleanDelta), fmtStat(n.costSeconds, 1)]),
  });
  b.push({ kind: 'figure', id: 'clean' });

  b.push({ kind: 'h2', text: "FGSM — the paper's main figure" });
  for (const id of ['fgsm-mse', 'fgsm-ce']) {
    const cv = c(id);
    if (!cv) continue;
    b.push({ kind: 'figure', id: `curve-${id}` });
    b.push(curveTable(cv, [0, 0.05, 0.1, 0.15, 0.2, 0.3]));
  }
  b.push({ kind: 'p', text: 'The squared-error gradient vanishes wherever the ReLU output is clamped at zero, so FGSM with the paper\'s loss is a weak attack; the cross-entropy curve shows what a stronger loss does to the same networks.' });

  b.push({ kind: 'h2', text: 'Noise and blur' });
  for (const [id, want] of [
    ['noise', [0.1, 0.3, 0.5, 0.9]],
    ['blur', [1, 2, 3, 4]],
  ] as const) {
    const cv = c(id);
    if (!cv) continue;
    b.push({ kind: 'figure', id: `curve-${id}` });
    b.push(curveTable(cv, [...want]));
    const s = describeGain(id === 'noise' ? 'Gaussian noise (by variance)' : 'Gaussian blur (by sigma)', cv);
    if (s) b.push({ kind: 'p', text: s });
  }

  if (r.perturbations.length) {
    b.push({ kind: 'h2', text: 'Minimal perturbations: DeepFool, JSMA, Carlini-Wagner' });
    b.push({
      kind: 'table',
      head: ['attack', 'network', 'attacked', 'success', 'median L2', 'mean L2', 'rho', 'median L0', 'pixels changed'],
      rows: r.perturbations.map((p) => [
        p.attack === 'cw' ? 'C&W L2' : p.attack === 'jsma' ? 'JSMA' : 'DeepFool',
        NETWORK_LABELS[p.network],
        String(p.n),
        fmtAcc(p.successRate),
        fmtStat(p.medianL2),
        fmtStat(p.meanL2),
        fmtStat(p.rho, 3),
        fmtStat(p.medianL0, 1),
        p.fractionChanged ? fmtAcc(p.fractionChanged) : '–',
      ]),
    });
    b.push({ kind: 'figure', id: 'pert-l2' }, { kind: 'figure', id: 'pert-l0' }, { kind: 'figure', id: 'pert-success' });
    b.push({ kind: 'p', text: 'A larger perturbation needed to change the decision means a more robust network; success rates below 100 % mean the attack\'s budget ran out.' });
  }

  if (r.autoattack?.length) b.push(...autoattackBlocks(r.autoattack));

  b.push({ kind: 'h2', text: "Does sleep's robustness survive PGD, Square and transfer attacks?" });
  for (const id of ['pgd', 'square', 'transfer']) {
    const cv = c(id);
    if (!cv) continue;
    b.push({ kind: 'figure', id: `curve-${id}` });
    b.push(curveTable(cv, cv.x));
  }
  b.push({ kind: 'list', items: a.q1 });

  b.push({ kind: 'h2', text: 'What does sleep cost in clean accuracy?' });
  b.push({ kind: 'list', items: a.q2 });

  b.push({ kind: 'h2', text: 'Sleep statistics' });
  const s = r.sleep;
  b.push({
    kind: 'table',
    head: ['figure', ...s.spikesPerLayer.map((_, i) => (i === 0 ? 'input' : s.layers?.[i - 1] ? `layer ${i} (${s.layers[i - 1]})` : `layer ${i}`))],
    rows: [
      ['spikes in sleep', ...s.spikesPerLayer.map((v) => (v.values.length > 1 ? `${int(v.mean)} ± ${int(v.sd)}` : int(v.mean)))],
      ['weights changed (matrix into this layer)', '–', ...s.weightsChanged.map((v) => (v.values.length > 1 ? `${int(v.mean)} ± ${int(v.sd)}` : int(v.mean)))],
    ],
  });
  b.push({ kind: 'p', text: `Sleep input: ${s.input}. Sleep wall time ${fmtStat(s.wallSeconds, 1)} s per network.` });
  b.push({ kind: 'figure', id: 'sleep' });

  b.push({ kind: 'h2', text: 'Reproduce' });
  b.push({
    kind: 'p',
    text: `\`nrem reproduce --spec ${sp.name}${sp.quick ? ' --quick' : ''} --seeds ${r.seeds.length}\` — results.json (schema version ${r.schemaVersion}, docs/results-schema.md) holds every number above, per seed.`,
  });
  return b;
}

/** The AutoAttack section: robust accuracy per network and eps, the stages, the checks' warnings. */
function autoattackBlocks(aa: AutoAttackSummary[]): Block[] {
  const b: Block[] = [];
  const a0 = aa[0];
  b.push({ kind: 'h2', text: 'AutoAttack: the headline robust accuracy' });
  b.push({
    kind: 'p',
    text:
      `AutoAttack (Croce & Hein 2020), version \`${a0.version}\`, ${a0.norm === 'linf' ? 'L∞' : 'L2'}, on the first ${a0.n} test images: each attack runs only on the images every earlier one failed on, ` +
      'so an image counts as robust only if all of them fail (the worst case per example); every adversarial example is confirmed by ONNX Runtime. ⚠ marks a figure that a sanity check puts in doubt (listed below the tables).',
  });
  b.push({
    kind: 'table',
    head: ['network', 'clean (same images)', ...a0.eps.map((e) => `eps ${e}`)],
    rows: aa.map((a) => [NETWORK_LABELS[a.network], fmtAcc(a.cleanAccuracy), ...a.eps.map((e, i) => `${fmtAcc(a.robust[i])}${a.warnings.some((w) => w.eps === e) ? ' ⚠' : ''}`)]),
  });
  for (let e = 0; e < a0.eps.length; e++) {
    b.push({ kind: 'h3', text: `Robust accuracy after each attack, eps ${a0.eps[e]}` });
    b.push({
      kind: 'table',
      head: ['network', ...a0.stages.map((s) => s.attack.toUpperCase())],
      rows: aa.map((a) => [NETWORK_LABELS[a.network], ...a.stages.map((s) => fmtAcc(s.robust[e]))]),
    });
  }
  const warn = aa.flatMap((a) => {
    // One line per network, check and message; the seeds and eps where it fired in brackets.
    const by = new Map<string, { id: string; message: string; where: string[] }>();
    for (const w of a.warnings) {
      const k = `${w.id}|${w.message}`;
      const g = by.get(k) ?? { id: w.id, message: w.message, where: [] };
      g.where.push(`seed ${w.seed}, eps ${w.eps}`);
      by.set(k, g);
    }
    return [...by.values()].map((g) => `⚠ **${NETWORK_LABELS[a.network]}** (${g.where.join('; ')}) — ${g.id}: ${g.message}`);
  });
  b.push({ kind: 'p', text: warn.length ? 'Sanity checks that fired:' : 'No sanity check fired (zero gradients, Square or transfer beating the white-box attacks, randomness in the outputs, probabilities instead of logits).' });
  if (warn.length) b.push({ kind: 'list', items: warn });
  return b;
}

export interface WrittenReport {
  markdown: string;
  html: string;
  figures: Figure[];
}

/** Renders report.md and report.html (and writes them under dir when given). */
export async function writeReport(r: Results, dir?: string): Promise<WrittenReport> {
  const figures = await buildFigures(r);
  const blocks = reportBlocks(r);
  const markdown = toMarkdown(blocks, figures);
  const html = toHtml(r.spec.title, blocks, figures);
  if (dir) {
    writeAtomicSync(join(dir, 'report.md'), markdown, { mkdir: true });
    writeAtomicSync(join(dir, 'report.html'), html, { mkdir: true });
  }
  return { markdown, html, figures };
}
