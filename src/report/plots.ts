/**
 * The report's figures: vega-lite specs compiled and rendered to SVG strings offline
 * (vega's headless View, renderer 'none'; no canvas, no network).
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { Curve, Results, Stat } from '../experiments/results.js';
import { NETWORK_LABELS } from '../experiments/results.js';

type VlSpec = vl.TopLevelSpec;

const COLORS: Record<string, string> = {
  control: '#4c4c4c',
  'defensive distillation': '#1f77b4',
  sleep: '#d62728',
  'PGD adversarial training': '#9467bd',
};
const TUNED = '#2ca02c';

function colorScale(labels: string[]): { domain: string[]; range: string[] } {
  return { domain: labels, range: labels.map((l) => COLORS[l] ?? TUNED) };
}

/** Renders a vega-lite spec to an SVG string. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  // The ±sd band hides its legend, the line shows it: vega-lite warns about the merge; silence it.
  const view = new vega.View(vega.parse(vl.compile(spec, { logger: vega.logger(vega.None) }).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Accuracy-vs-x lines with a ±1 sd band over seeds. */
export function curveSpec(c: Curve, opts: { percentAxis?: boolean } = {}): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const s of c.series) {
    const label = NETWORK_LABELS[s.network];
    s.accuracy.forEach((a, i) => {
      rows.push({ x: c.x[i], network: label, acc: a.mean, lo: Math.max(0, a.mean - a.sd), hi: Math.min(1, a.mean + a.sd) });
    });
  }
  const labels = c.series.map((s) => NETWORK_LABELS[s.network]);
  const color = { field: 'network', type: 'nominal', title: null, scale: colorScale(labels), sort: labels, legend: { labelLimit: 220 } } as const;
  const bandColor = { ...color, legend: null };
  const x = { field: 'x', type: 'quantitative', title: c.xLabel } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: c.title, subtitle: `${c.n} test images; mean ± sd over seeds` },
    width: 440,
    height: 260,
    data: { values: rows },
    layer: [
      { mark: { type: 'area', opacity: 0.15 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: bandColor } },
      {
        mark: { type: 'line', point: { size: 18 }, strokeWidth: 1.8 },
        encoding: {
          x,
          y: { field: 'acc', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] }, axis: { format: opts.percentAxis === false ? '' : '.0%' } },
          color,
        },
      },
    ],
    config: { font: 'sans-serif', legend: { orient: 'right' } },
  } as VlSpec;
}

/** Grouped bars with sd whiskers: one bar per (group, network). */
export function barSpec(opts: {
  title: string;
  subtitle?: string;
  yTitle: string;
  rows: { group: string; network: string; value: Stat }[];
  percent?: boolean;
  log?: boolean;
}): VlSpec {
  const values = opts.rows.map((r) => ({
    group: r.group,
    network: r.network,
    v: r.value.mean,
    lo: opts.log ? Math.max(r.value.mean - r.value.sd, 0.5) : Math.max(0, r.value.mean - r.value.sd),
    hi: r.value.mean + r.value.sd,
  }));
  const labels = [...new Set(opts.rows.map((r) => r.network))];
  const yScale = opts.log ? { type: 'symlog' } : {};
  const y = { field: 'v', type: 'quantitative', title: opts.yTitle, scale: yScale, axis: opts.percent ? { format: '.0%' } : {} } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: opts.title, subtitle: opts.subtitle ?? 'mean ± sd over seeds' },
    data: { values },
    facet: { column: { field: 'group', type: 'nominal', title: null, sort: [...new Set(opts.rows.map((r) => r.group))] } },
    spec: {
      width: { step: 22 },
      height: 200,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'network', type: 'nominal', title: null, sort: labels, axis: { labels: false, ticks: false } },
            y,
            color: { field: 'network', type: 'nominal', title: null, scale: colorScale(labels), sort: labels, legend: { labelLimit: 220 } },
          },
        },
        {
          mark: { type: 'rule', color: 'black' },
          encoding: { x: { field: 'network', type: 'nominal', sort: labels }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
    config: { font: 'sans-serif' },
  } as VlSpec;
}

export interface Figure {
  id: string;
  caption: string;
  svg: string;
}

/** Every figure of the report, in order. */
export async function buildFigures(r: Results): Promise<Figure[]> {
  const figs: Figure[] = [];
  const add = async (id: string, caption: string, spec: VlSpec | undefined) => {
    if (spec) figs.push({ id, caption, svg: await renderSvg(spec) });
  };
  const curve = (id: string) => r.curves.find((c) => c.id === id);
  const captions: Record<string, string> = {
    'fgsm-mse': "FGSM with the paper's squared-error loss: accuracy vs eps (the paper's main figure).",
    'fgsm-ce': 'FGSM with cross-entropy on the pre-activation output: accuracy vs eps.',
    noise: 'Gaussian noise: accuracy vs noise variance (mean 0, clipped to [0,1]).',
    blur: 'Gaussian blur: accuracy vs blur sigma.',
    pgd: 'PGD (L-inf, white-box): accuracy vs eps.',
    square: 'Square attack (L-inf, gradient-free): accuracy vs eps.',
    transfer: 'Transfer attack: PGD examples crafted on the control, evaluated on each network.',
  };
  for (const c of r.curves) await add(`curve-${c.id}`, captions[c.id] ?? c.title, c.x.length > 1 ? curveSpec(c) : undefined);

  const pert = (attack: string, key: 'medianL2' | 'medianL0') =>
    r.perturbations.filter((p) => p.attack === attack && p[key]).map((p) => ({ group: attack, network: NETWORK_LABELS[p.network], value: p[key]! }));
  const l2 = [...pert('deepfool', 'medianL2'), ...pert('cw', 'medianL2')].map((x) => ({ ...x, group: x.group === 'cw' ? 'C&W' : 'DeepFool' }));
  if (l2.length) await add('pert-l2', 'Minimal perturbations: median L2 of successful DeepFool and C&W examples (larger = more robust).', barSpec({ title: 'Perturbation size (L2)', yTitle: 'median L2', rows: l2 }));
  const l0 = pert('jsma', 'medianL0').map((x) => ({ ...x, group: 'JSMA' }));
  if (l0.length) await add('pert-l0', 'JSMA: median number of pixels changed (larger = more robust).', barSpec({ title: 'Perturbation size (L0)', yTitle: 'median pixels changed', rows: l0 }));
  const succ = r.perturbations.map((p) => ({ group: p.attack === 'cw' ? 'C&W' : p.attack === 'jsma' ? 'JSMA' : 'DeepFool', network: NETWORK_LABELS[p.network], value: p.successRate }));
  if (succ.length) await add('pert-success', 'Success rate of the minimal-perturbation attacks.', barSpec({ title: 'Attack success rate', yTitle: 'success rate', rows: succ, percent: true }));

  const nets = r.networks;
  await add(
    'clean',
    'Clean test accuracy of every network, and the wall time to build each defence.',
    barSpec({
      title: 'Clean accuracy and cost of each defence',
      yTitle: '',
      rows: [
        ...nets.map((n) => ({ group: 'clean accuracy', network: n.label, value: n.cleanAccuracy })),
        ...nets.map((n) => ({ group: 'build time (s)', network: n.label, value: n.costSeconds })),
      ],
    }),
  );
  const s = r.sleep;
  await add(
    'sleep',
    `Sleep statistics (${s.preset}, ${s.steps} steps): spikes per layer and weights changed per matrix (symlog scale).`,
    barSpec({
      title: 'Sleep statistics',
      yTitle: 'count',
      log: true,
      rows: [
        ...s.spikesPerLayer.map((v, i) => ({ group: 'spikes per layer', network: i === 0 ? 'input' : `layer ${i}`, value: v })),
        ...s.weightsChanged.map((v, i) => ({ group: 'weights changed', network: `W${i + 1}`, value: v })),
      ],
    }),
  );
  void curve;
  return figs;
}
