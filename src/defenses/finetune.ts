/**
 * Fine-tuning baselines (experiments.md §4): start from the control, replace the first
 * `replace` training images by perturbed versions, train `epochs` more epochs at lr 0.05.
 *
 *   fgsm:      x' = clip(x + u ⊙ sign(∇x L(x, y)), 0, 1), u ~ U(0, uMax) per pixel, L the
 *              recipe's loss (paper: squared error), gradient of the control in test mode
 *   noise:     x' = clip(x + √v·N(0, 1), 0, 1)           (v = variance)
 *   blur:      x' = Gaussian blur of x with sigma σ
 *   deepfool / jsma / cw: that attack's adversarial examples of the control
 */
import type { Dataset } from '../data/dataset.js';
import type { Network } from '../model/network.js';
import { getRecipe, train } from '../train/train.js';
import type { RunOptions } from '../util/control.js';
import { throwIfAborted } from '../util/control.js';
import { expectInt, expectNumber, expectOneOf, expectSeed } from '../util/validate.js';
import { inputGradient } from '../attacks/gradients.js';
import { distort } from '../attacks/distortions.js';
import { CarliniWagnerL2, DeepFool, JSMA, type CarliniWagnerOptions, type DeepFoolOptions, type JsmaOptions } from '../attacks/minimal.js';
import { head } from '../data/dataset.js';
import { replaceLeading, rowUniform, trainOptions, type RecipeLike } from './common.js';

export const FINETUNE_KINDS = ['fgsm', 'noise', 'blur', 'deepfool', 'jsma', 'cw'] as const;
export type FinetuneKindName = (typeof FINETUNE_KINDS)[number];

export interface FinetuneOptions extends RunOptions {
  kind: FinetuneKindName;
  seed: number;
  /** Recipe whose loss, batch and momentum are used (default 'paper'). */
  recipe?: RecipeLike;
  lr?: number;
  epochs?: number;
  /** Leading training rows replaced (default 5,000, the paper's). */
  replace?: number;
  uMax?: number;
  noiseVariance?: number;
  blurSigma?: number;
  deepfool?: DeepFoolOptions;
  jsma?: JsmaOptions;
  cw?: CarliniWagnerOptions;
}

export interface FinetuneResult {
  network: Network;
  /** Rows replaced. */
  replaced: number;
  seconds: number;
}

/** The perturbed versions of the first k rows of data (k × dims). */
export async function perturbedRows(control: Network, data: Dataset, o: FinetuneOptions & { replace: number }): Promise<Float32Array> {
  const k = Math.min(o.replace, data.n);
  const part = head(data, k);
  const ro = { signal: o.signal, onProgress: o.onProgress };
  const seed = o.seed;
  switch (o.kind) {
    case 'fgsm': {
      const uMax = expectNumber(o.uMax ?? 0.1, 'uMax', 0);
      const loss = getRecipe(o.recipe ?? 'paper').loss === 'cross-entropy' ? 'ce' : 'mse';
      const { grad } = await inputGradient(control, part.x, part.y, loss, ro);
      const out = new Float32Array(part.x.length);
      const d = data.dims;
      for (let r = 0; r < k; r++) {
        if (r % 500 === 0) throwIfAborted(o.signal);
        const u = rowUniform(seed, 0xf17e, r);
        for (let j = r * d; j < (r + 1) * d; j++) {
          const g = grad[j];
          const v = part.x[j] + uMax * u() * (g > 0 ? 1 : g < 0 ? -1 : 0);
          out[j] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
      }
      return out;
    }
    case 'noise':
      return distort(part.x, data.dims, 'noise', expectNumber(o.noiseVariance ?? 0.3, 'noiseVariance', 0), { ...ro, seed, shape: data.shape });
    case 'blur':
      return distort(part.x, data.dims, 'blur', expectNumber(o.blurSigma ?? 2, 'blurSigma', 0), { ...ro, seed, shape: data.shape });
    case 'deepfool':
    case 'jsma':
    case 'cw': {
      const a = o.kind === 'deepfool' ? new DeepFool(o.deepfool) : o.kind === 'jsma' ? new JSMA(o.jsma) : new CarliniWagnerL2(o.cw);
      const r = await a.run(control, part.x, part.y, { ...ro, seed });
      return r.clipped[0];
    }
  }
}

/** A copy of `control` fine-tuned on the perturbed training set. */
export async function finetune(control: Network, data: Dataset, opts: FinetuneOptions): Promise<FinetuneResult> {
  const t0 = performance.now();
  const kind = expectOneOf(opts.kind, 'kind', FINETUNE_KINDS);
  const seed = expectSeed(opts.seed);
  const replace = expectInt(opts.replace ?? 5000, 'replace', 0);
  const rows = await perturbedRows(control, data, { ...opts, kind, replace });
  const tuned = replaceLeading(data, rows, `${data.name} (first ${rows.length / data.dims} rows ${kind}-perturbed)`);
  const net = control.clone();
  await train(
    net,
    tuned,
    trainOptions(opts.recipe ?? 'paper', seed, {
      lr: expectNumber(opts.lr ?? 0.05, 'lr', Number.MIN_VALUE),
      epochs: expectInt(opts.epochs ?? 2, 'epochs', 1),
      signal: opts.signal,
      onProgress: opts.onProgress,
    }),
  );
  return { network: net, replaced: rows.length / data.dims, seconds: (performance.now() - t0) / 1000 };
}
