/**
 * Every field of an experiment spec in words, and the commented spec JSON that
 * `nrem reproduce --print-spec [NAME]` prints (JSON with // comments: nrem reads it back
 * with --spec FILE). docs/reproduce.md documents the same fields (a test keeps the two in step).
 */
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { FormatError } from '../errors.js';
import type { ExperimentSpec } from './spec.js';

/** Field path (dots; no array indices) → what it means. */
export const SPEC_FIELDS: Record<string, string> = {
  name: 'Name of the experiment (shown in the report; the default output folder nrem-out/NAME).',
  title: 'Title of the report.',
  data: 'Data set: mnist, fashion-mnist, mnist-idx:DIR, patches[:k=v,…] or features:FILE (nrem reproduce --dataset).',
  control: "Optional: the user's own network as the control instead of one nrem trains (nrem reproduce --model).",
  'control.model': 'The ONNX file of the control. Every defence starts from it (fine-tuning, PGD training with fromControl) or is trained to its architecture.',
  'control.sha256': 'sha256 of the file, filled in by nrem reproduce; a file that changed afterwards is refused.',
  quick: "Use the data set's quick subset: a seeded, stratified 8,000 training / 2,000 test rows (nrem reproduce --quick).",
  subsetNote: 'A sentence on the data used, shown at the top of the report.',
  seeds: 'Seeds of the study; every unit runs once per seed (nrem reproduce --seeds N gives 1 … N).',
  train: 'The control nrem trains (ignored for a given control, except recipe).',
  'train.recipe': 'paper (the authors\' MSE/ReLU/SGD, no biases), paper-octave (the same, drawing from the authors\' Octave random stream) or modern (biases, He init, cross-entropy); with a given control, the recipe of the defences trained to its architecture (nrem reproduce --recipe).',
  'train.sizes': 'Layer sizes of a fully connected control, input first; 0 = from the data (input features, classes).',
  'train.arch': 'Instead of sizes: an architecture as nrem train --arch takes it ("conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10", "784,1200,10") or an object { "input"?: [C, H, W], "layers": [...] } (nrem reproduce --arch).',
  'train.epochs': 'Training epochs of the control.',
  sleep: 'The sleep phase.',
  'sleep.preset': 'A preset of sleep-algorithm.md §5 (mnist-fgsm, mnist-minimal, cub200, patches), or "tune": parameters searched for this network by nrem tune on validation rows held out of the training set (the default for a given control without --preset).',
  'sleep.parameters': 'Optional: parameter overrides of the preset, as in a preset file (e.g. { "alphaScale": 2.5, "steps": 10000 }); nrem reproduce --preset FILE.json puts the file here.',
  'sleep.tune': 'With preset "tune": the search.',
  'sleep.tune.algorithm': 'ga (genetic algorithm, as the authors) or cmaes.',
  'sleep.tune.budget': 'Candidates slept and scored.',
  'sleep.tune.objective': 'The score of a slept network on the validation rows, e.g. "noise:0.3,blur:2,fgsm:0.1" (terms of nrem tune --objective).',
  'sleep.tune.valSize': 'Validation rows: the last rows of the training set (never the test set).',
  'sleep.input': "Optional: override of the preset's sleep input (sequence, mean, masked-mean).",
  'sleep.steps': "Optional: override of the preset's number of steps.",
  'sleep.beta': "Optional: override of the preset's threshold multipliers, one per weight layer.",
  defences: 'The baselines built besides the control and sleep; leave one out to skip it.',
  'defences.distillation': 'Defensive distillation (teacher and student of the control\'s architecture).',
  'defences.distillation.temperature': 'Temperature T of teacher and student (the student is deployed at T = 1).',
  'defences.distillation.epochs': 'Epochs of the teacher and of the student (each).',
  'defences.finetune': 'Networks fine-tuned from the control on perturbed training images.',
  'defences.finetune.lr': 'Learning rate of the fine-tuning.',
  'defences.finetune.epochs': 'Epochs of fine-tuning.',
  'defences.finetune.replace': 'Leading training images replaced by perturbed ones (the paper: 5,000).',
  'defences.finetune.uMax': 'FGSM-tuned network: x + u·sign(∇), u ~ U(0, uMax) per pixel.',
  'defences.finetune.noiseVariance': 'Noise-tuned network: variance of the Gaussian noise.',
  'defences.finetune.blurSigma': 'Blur-tuned network: blur sigma (0: no blur-tuned network).',
  'defences.finetune.attacks': 'Also fine-tune on examples of these attacks: deepfool, jsma, cw.',
  'defences.finetune.attackReplace': 'Leading images replaced by each attack\'s examples.',
  'defences.pgdTrain': 'PGD adversarial training (Madry et al.).',
  'defences.pgdTrain.fromControl': 'Start from the control (adversarial fine-tuning) instead of fresh weights.',
  'defences.pgdTrain.eps': 'L∞ budget of the training examples.',
  'defences.pgdTrain.steps': 'PGD steps per training example.',
  'defences.pgdTrain.stepSize': 'PGD step size.',
  'defences.pgdTrain.epochs': 'Training epochs.',
  evaluation: 'What is measured on every network.',
  'evaluation.testSize': 'Test rows of the curves (0 = all); attack subsets are the first n of them.',
  'evaluation.fgsm': 'FGSM sweep (one gradient per image).',
  'evaluation.fgsm.eps': 'Budgets of the sweep.',
  'evaluation.fgsm.losses': 'mse (the paper\'s squared error on the output) and/or ce (cross-entropy on the logits).',
  'evaluation.noise': 'Gaussian noise.',
  'evaluation.noise.variances': 'Noise variances (not standard deviations).',
  'evaluation.blur': 'Gaussian blur.',
  'evaluation.blur.sigmas': 'Blur sigmas (empty: no blur curve, e.g. for features).',
  'evaluation.deepfool': 'DeepFool (minimal L2 perturbation).',
  'evaluation.deepfool.n': 'Test images attacked (the correctly classified among the first n); 0 = skip.',
  'evaluation.deepfool.overshoot': 'Overshoot of the last step.',
  'evaluation.deepfool.maxIter': 'Iterations at most.',
  'evaluation.jsma': 'JSMA (L0, targeted).',
  'evaluation.jsma.n': 'Test images attacked; 0 = skip.',
  'evaluation.jsma.theta': 'Change of each chosen pixel.',
  'evaluation.jsma.maxIter': 'Iterations at most.',
  'evaluation.jsma.variant': 'pair (the original, two pixels per step) or single.',
  'evaluation.cw': 'Carlini-Wagner L2.',
  'evaluation.cw.n': 'Test images attacked; 0 = skip.',
  'evaluation.cw.steps': 'Optimisation steps per binary-search step.',
  'evaluation.cw.searches': 'Binary-search steps over the constant c.',
  'evaluation.cw.lr': 'Adam learning rate.',
  'evaluation.cw.c0': 'Initial constant c.',
  'evaluation.pgd': 'PGD L∞ (white-box), accuracy per budget.',
  'evaluation.pgd.n': 'Test images attacked; 0 = skip.',
  'evaluation.pgd.eps': 'Budgets.',
  'evaluation.pgd.steps': 'Steps (step size 2.5·eps/steps).',
  'evaluation.pgd.restarts': 'Random restarts.',
  'evaluation.pgd.loss': 'ce or mse.',
  'evaluation.square': 'Square attack (L∞, gradient-free).',
  'evaluation.square.n': 'Test images attacked; 0 = skip.',
  'evaluation.square.eps': 'Budgets.',
  'evaluation.square.queries': 'Queries per image at most.',
  'evaluation.transfer': 'Transfer: PGD examples crafted on the control, evaluated on each network.',
  'evaluation.transfer.n': 'Test images; 0 = skip.',
  'evaluation.transfer.eps': 'Budgets.',
  'evaluation.autoattack': 'AutoAttack (Croce & Hein: APGD-CE, APGD-T, FAB-T, Square), the headline robust accuracy; leave it out to skip.',
  'evaluation.autoattack.n': 'Test images attacked (the first n); 0 = skip.',
  'evaluation.autoattack.eps': 'Budgets (L∞ in [0, 1], or L2).',
  'evaluation.autoattack.version': 'standard (APGD-CE, APGD-T, FAB-T, Square) or plus.',
  'evaluation.autoattack.norm': 'linf or l2.',
};

/** Every field path of a spec object (no array indices). */
export function specPaths(o: unknown, prefix = ''): string[] {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (v === undefined) continue;
    const p = prefix ? `${prefix}.${k}` : k;
    out.push(p);
    // Parameter overrides and architecture objects are free-form (documented where they are defined).
    if (p !== 'sleep.parameters' && p !== 'train.arch') out.push(...specPaths(v, p));
  }
  return out;
}

const isScalarList = (v: unknown) => Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object');

/** The spec as JSON with a // comment above every field. */
export function commentedSpec(spec: ExperimentSpec, header: string[] = []): string {
  const lines: string[] = header.map((h) => `// ${h}`);
  const write = (v: unknown, path: string, indent: string, last: boolean, key?: string) => {
    const doc = path ? SPEC_FIELDS[path] : undefined;
    if (doc) lines.push(`${indent}// ${doc}`);
    const head = key === undefined ? indent : `${indent}${JSON.stringify(key)}: `;
    const comma = last ? '' : ',';
    if (v && typeof v === 'object' && !Array.isArray(v) && path !== 'sleep.parameters' && path !== 'train.arch') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      if (!entries.length) return void lines.push(`${head}{}${comma}`);
      lines.push(`${head}{`);
      entries.forEach(([k, x], i) => write(x, path ? `${path}.${k}` : k, indent + '  ', i === entries.length - 1, k));
      lines.push(`${indent}}${comma}`);
    } else if (isScalarList(v)) {
      lines.push(`${head}${JSON.stringify(v).replace(/,/g, ', ')}${comma}`);
    } else {
      lines.push(`${head}${JSON.stringify(v)}${comma}`);
    }
  };
  write(spec, '', '', true);
  return lines.join('\n') + '\n';
}

/** A spec file's text: JSON, with // and /* comments and trailing commas allowed. */
export function parseSpecText(text: string, file: string): unknown {
  const errors: ParseError[] = [];
  const v = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length) {
    const e = errors[0];
    const before = text.slice(0, e.offset);
    const line = before.split('\n').length;
    const col = e.offset - before.lastIndexOf('\n');
    throw new FormatError(`${file}: not a readable JSON experiment spec (${printParseErrorCode(e.error)} at line ${line}, column ${col})`);
  }
  return v;
}
