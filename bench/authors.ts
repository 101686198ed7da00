/**
 * The authors' figures (authors-reference.md §B), reproduced: the paper's recipe on full
 * MNIST, the mnist-fgsm sleep, noise, blur and squared-error FGSM on the 10,000 test images,
 * per seed, side by side with the figures measured with the authors' own code. Not a speed
 * suite and not in the default run (about 30 s a seed on 2 cores):
 *
 *   node dist/bench/run.js authors
 *   NREM_AUTHORS_SEEDS=1,2,3,4,5,6 NREM_AUTHORS_RECIPE=paper node dist/bench/run.js authors
 *
 * Recipe 'paper-octave' (default) draws the training's random numbers from the authors'
 * stream, so seed s is the authors' seed s; 'paper' uses nrem's own streams (another sample
 * of the same distribution). The sleep's input spikes are nrem's own draws either way.
 */
import { loadMnist } from '../src/data/mnist.js';
import { createNetwork, evaluate, recipeOptions, train, type RecipeName } from '../src/train/train.js';
import type { Dataset } from '../src/data/dataset.js';
import { sleep } from '../src/sleep/sleep.js';
import { evaluateDistortions } from '../src/attacks/distortions.js';
import { fgsmSweep } from '../src/attacks/sweep.js';
import type { Network } from '../src/model/network.js';
import type { BenchRow } from './types.js';

const NOISE = [0.1, 0.3, 0.5];
const BLUR = [2, 3, 4];
const FGSM = [0.1, 0.2, 0.3];

type Reference = { mean: number; sd?: number; perSeed?: number[] };

/** One reference row per level of a curve: `${kind} ${level}, ${network}` → mean (± sd). */
function curve(kind: string, levels: number[], network: string, means: number[], sds?: number[]): [string, Reference][] {
  return levels.map((v, i) => [`${kind} ${v}, ${network}`, { mean: means[i], sd: sds?.[i] }]);
}

/** authors-reference.md §B: mean ± sd over the authors' seeds 1–3 (accuracy in %). */
const AUTHORS: Record<string, Reference> = Object.fromEntries([
  ['clean, control', { mean: 94.6, sd: 0.1, perSeed: [94.63, 94.5, 94.55] }],
  ['clean, slept', { mean: 93.6, sd: 0.2, perSeed: [93.7, 93.38, 93.79] }],
  ['hidden-1 spikes', { mean: 53.3, perSeed: [44, 62, 54] }],
  ['W1 weights changed', { mean: 41194, perSeed: [33962, 47868, 41753] }],
  ...curve('noise', NOISE, 'control', [84.3, 57.6, 45.7], [1.3, 2.7, 1.8]),
  ...curve('noise', NOISE, 'slept', [90.3, 68.1, 55.4], [0.0, 1.7, 1.5]),
  ...curve('blur', BLUR, 'control', [84.0, 47.7, 19.5], [1.4, 3.0, 2.9]),
  ...curve('blur', BLUR, 'slept', [90.3, 65.3, 41.0], [0.4, 3.5, 5.0]),
  ...curve('FGSM', FGSM, 'control', [55.1, 33.3, 31.3]),
  ...curve('FGSM', FGSM, 'slept', [56.7, 22.6, 18.0]),
] as [string, Reference][]);

async function figures(net: Network, test: Dataset, seed: number): Promise<Record<string, number>> {
  const pct = (a: number) => 100 * a;
  const d = await evaluateDistortions(net, test.x, test.y, { noise: NOISE, blur: BLUR }, { seed });
  const noise = d.find((c) => c.kind === 'noise')!.accuracy;
  const blur = d.find((c) => c.kind === 'blur')!.accuracy;
  const fgsm = (await fgsmSweep(net, test.x, test.y, { loss: 'mse', epsilons: FGSM })).accuracy;
  const out: Record<string, number> = { clean: pct((await evaluate(net, test)).accuracy) };
  NOISE.forEach((v, i) => (out[`noise ${v}`] = pct(noise[i])));
  BLUR.forEach((v, i) => (out[`blur ${v}`] = pct(blur[i])));
  FGSM.forEach((v, i) => (out[`FGSM ${v}`] = pct(fgsm[i])));
  return out;
}

function meanSd(xs: number[]): string {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const digits = xs.every((v) => Number.isInteger(v)) && m >= 1000 ? 0 : 1;
  if (xs.length < 2) return m.toFixed(digits);
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
  return `${m.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

export async function benchAuthors(): Promise<BenchRow[]> {
  const seeds = (process.env.NREM_AUTHORS_SEEDS ?? '1,2,3').split(',').map(Number);
  const recipe = (process.env.NREM_AUTHORS_RECIPE ?? 'paper-octave') as RecipeName;
  const { train: data, test } = loadMnist();
  const rows: BenchRow[] = [];
  const table: Record<string, number[]> = {};
  const put = (k: string, v: number) => (table[k] ??= []).push(v);
  for (const seed of seeds) {
    const t0 = performance.now();
    const net = createNetwork(recipe, [784, 1200, 1200, 10], seed);
    await train(net, data, recipeOptions(recipe, seed));
    const trained = performance.now();
    const r = await sleep(net, data, { preset: 'mnist-fgsm', seed });
    const slept = performance.now();
    const c = await figures(net, test, seed);
    const s = await figures(r.network, test, seed);
    put('hidden-1 spikes', r.stats.spikes[1]);
    put('W1 weights changed', r.stats.weightsChanged[0]);
    for (const k of Object.keys(c)) {
      put(`${k}, control`, c[k]);
      put(`${k}, slept`, s[k]);
    }
    rows.push({
      suite: 'authors',
      name: `${recipe} seed ${seed}: train + sleep`,
      seconds: (slept - t0) / 1000,
      figures: {
        trainSeconds: (trained - t0) / 1000,
        spikesHidden1: r.stats.spikes[1],
        w1Changed: r.stats.weightsChanged[0],
        cleanControl: c.clean,
        cleanSlept: s.clean,
        noise03Control: c['noise 0.3'],
        noise03Slept: s['noise 0.3'],
        blur2Control: c['blur 2'],
        blur2Slept: s['blur 2'],
      },
    });
  }
  const keys = Object.keys(AUTHORS).filter((k) => table[k]);
  console.log(`\n| figure | nrem (${recipe}), seeds ${seeds.join(', ')} | per seed | authors-reference.md §B, seeds 1–3 |`);
  console.log('|---|---|---|---|');
  for (const k of keys) {
    const a = AUTHORS[k];
    const ref = a.sd !== undefined ? `${a.mean.toFixed(1)} ± ${a.sd.toFixed(1)}` : a.perSeed ? a.perSeed.join(' / ') : a.mean.toFixed(1);
    const per = table[k].map((v) => (Number.isInteger(v) ? String(v) : v.toFixed(2))).join(' / ');
    console.log(`| ${k} | ${meanSd(table[k])} | ${per} | ${ref} |`);
  }
  return rows;
}
