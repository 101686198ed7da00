/**
 * The experiment's operations over nrem's own APIs: data (loadDataset), training
 * (engine), sleep, attacks and distortions, the defences, ONNX export/import, and the
 * ONNX Runtime re-check of every adversarial example of PGD, Square, transfer, DeepFool,
 * JSMA and C&W (an example counts as adversarial only when the exported model, run by
 * ONNX Runtime, misclassifies it). The FGSM sweep, noise and blur use the native forward.
 */
import { loadDataset } from '../data/index.js';
import { head, type Dataset } from '../data/dataset.js';
import type { Network } from '../model/network.js';
import { toOnnxBytes, fromOnnxBytes } from '../model/onnx.js';
import { OrtModel } from '../model/ort.js';
import { createNetwork, evaluate, recipeOptions, train } from '../train/train.js';
import { sleep } from '../sleep/sleep.js';
import { getPreset, type SleepInput } from '../sleep/presets.js';
import { archFor, readArch, type Architecture } from '../model/arch.js';
import { fgsmSweep } from '../attacks/sweep.js';
import { evaluateDistortions } from '../attacks/distortions.js';
import { PGD } from '../attacks/pgd.js';
import { SquareAttack } from '../attacks/square.js';
import { DeepFool, CarliniWagnerL2, JSMA } from '../attacks/minimal.js';
import { summarize } from '../attacks/metrics.js';
import { autoAttackSweep } from '../attacks/autoattack.js';
import type { Attack, AttackResult } from '../attacks/base.js';
import { distill } from '../defenses/distillation.js';
import { finetune } from '../defenses/finetune.js';
import { pgdTrain } from '../defenses/pgd-train.js';
import type { RunOptions } from '../util/control.js';
import type { EvaluationSpec, SleepSpec, TrainSpec } from './spec.js';
import type { AutoAttackValue, LoadedData, Ops, PerturbationStats } from './ops.js';

/** The control's architecture from the spec on this data: layer sizes (0 = from the data) or spec.arch. */
export function archOfSpec(spec: TrainSpec, data: LoadedData): number[] | Architecture {
  if (spec.arch !== undefined) return archFor(typeof spec.arch === 'string' ? readArch(spec.arch) : spec.arch, data.train);
  const s = [...(spec.sizes ?? [0, 0])];
  if (!s[0]) s[0] = data.train.dims;
  if (!s[s.length - 1]) s[s.length - 1] = data.train.classes;
  return s;
}

/** Native predictions re-checked by ONNX Runtime: accuracy (and success) counted on ORT's predictions. */
async function recheck(net: Network, r: AttackResult, labels: Int32Array, ro: RunOptions): Promise<AttackResult> {
  const ort = await OrtModel.fromNetwork(net);
  try {
    const predictions: Int32Array[] = [];
    for (const c of r.clipped) predictions.push(await ort.predict(c, undefined, ro));
    const success = predictions.map((p, e) => {
      const s = new Uint8Array(p.length);
      for (let i = 0; i < p.length; i++) s[i] = r.targets ? +(p[i] === r.targets[i] && r.success[e][i] === 1) : +(p[i] !== labels[i] && r.success[e][i] === 1);
      return s;
    });
    return { ...r, predictions, success };
  } finally {
    await ort.dispose();
  }
}

function accuracies(r: AttackResult, labels: Int32Array): number[] {
  return r.predictions.map((p) => {
    let ok = 0;
    for (let i = 0; i < p.length; i++) if (p[i] === labels[i]) ok++;
    return p.length ? ok / p.length : 0;
  });
}

function pgdOf(ev: EvaluationSpec): PGD {
  return new PGD({ steps: ev.pgd.steps, restarts: ev.pgd.restarts, loss: ev.pgd.loss, relStep: 2.5 / ev.pgd.steps });
}

/** Rows of `test` the network classifies correctly (minimal attacks attack only these). */
async function correctRows(net: Network, test: Dataset, ro: RunOptions): Promise<Dataset> {
  const p = await net.predict(test.x, ro);
  const idx: number[] = [];
  for (let i = 0; i < test.n; i++) if (p[i] === test.y[i]) idx.push(i);
  const x = new Float32Array(idx.length * test.dims);
  const y = new Int32Array(idx.length);
  idx.forEach((r, k) => {
    x.set(test.x.subarray(r * test.dims, (r + 1) * test.dims), k * test.dims);
    y[k] = test.y[r];
  });
  return { ...test, x, y, n: idx.length };
}

export function realOps(): Ops {
  return {
    async loadData(source, { quick, seed }) {
      const s = await loadDataset(source, { quick, seed });
      return { train: s.train, test: s.test };
    },

    async train(data, spec, seed, ro) {
      const net = createNetwork(spec.recipe, archOfSpec(spec, data), seed);
      await train(net, data.train, { ...recipeOptions(spec.recipe, seed), epochs: spec.epochs, ...ro });
      return net;
    },

    async distill(data, spec, d, seed, ro) {
      const r = await distill(spec.recipe, archOfSpec(spec, data), data.train, { temperature: d.temperature, epochs: d.epochs, seed, ...ro });
      return r.student;
    },

    async finetune(control, data, kind, f, ev, seed, ro) {
      const replace = kind === 'deepfool' || kind === 'jsma' || kind === 'cw' ? f.attackReplace : f.replace;
      const r = await finetune(control, data.train, {
        kind,
        seed,
        // the control's own loss: the paper's squared error for its ReLU-output networks, else cross-entropy
        recipe: control.output === 'relu' ? 'paper' : 'modern',
        lr: f.lr,
        epochs: f.epochs,
        replace,
        uMax: f.uMax,
        noiseVariance: f.noiseVariance,
        blurSigma: f.blurSigma,
        deepfool: { overshoot: ev.deepfool.overshoot, maxIterations: ev.deepfool.maxIter },
        jsma: { theta: ev.jsma.theta, maxIterations: ev.jsma.maxIter, pairs: ev.jsma.variant === 'pair' },
        cw: { searchSteps: ev.cw.searches, maxIterations: ev.cw.steps, lr: ev.cw.lr, initialConst: ev.cw.c0 },
        ...ro,
      });
      return r.network;
    },

    async pgdTrain(data, spec, p, seed, ro, init) {
      const r = await pgdTrain(spec.recipe, archOfSpec(spec, data), data.train, { seed, eps: p.eps, steps: p.steps, stepSize: p.stepSize, epochs: p.epochs, init, ...ro });
      return r.network;
    },

    async sleep(control, data, s: SleepSpec, seed, ro) {
      const preset = getPreset(s.preset);
      const input = s.input ?? preset.input;
      const steps = s.steps ?? preset.steps;
      const r = await sleep(control, data.train, {
        preset: preset.name,
        seed,
        ...(s.input ? { input: s.input as SleepInput } : {}),
        ...(s.steps ? { steps: s.steps } : {}),
        ...(s.beta ? { beta: s.beta } : {}),
        ...ro,
      });
      const n = data.train.n;
      const words =
        input === 'sequence'
          ? `sequence — the ${n.toLocaleString('en-US')} training rows of ${data.train.name} in their order${steps > n ? ', cycled' : ''} (${Math.min(steps, n).toLocaleString('en-US')} distinct rows fed)`
          : input === 'mean'
            ? `mean — the mean training input at every step (${data.train.name})`
            : `masked-mean — the mean training image in a random ${preset.maskSize}×${preset.maskSize} window per step`;
      return {
        net: r.network,
        stats: { input: words, steps: r.stats.steps, spikesPerLayer: [...r.stats.spikes], weightsChanged: [...r.stats.weightsChanged], layers: [...r.stats.layers] },
      };
    },

    async accuracy(net, test, ro) {
      return (await evaluate(net, test, ro)).accuracy;
    },

    async fgsm(net, test, eps, loss, ro) {
      return (await fgsmSweep(net, test.x, test.y, { epsilons: eps, loss, ...ro })).accuracy;
    },

    async noise(net, test, variances, seed, ro) {
      const [c] = await evaluateDistortions(net, test.x, test.y, { noise: variances }, { seed, shape: test.shape, ...ro });
      return c.accuracy;
    },

    async blur(net, test, sigmas, ro) {
      const [c] = await evaluateDistortions(net, test.x, test.y, { blur: sigmas }, { shape: test.shape, ...ro });
      return c.accuracy;
    },

    async sweep(kind, net, test, eps, ev, seed, ro) {
      const a: Attack = kind === 'pgd' ? pgdOf(ev) : new SquareAttack({ maxQueries: ev.square.queries, shape: test.shape });
      const r = await a.run(net, test.x, test.y, { epsilons: eps, seed, ...ro });
      return accuracies(await recheck(net, r, test.y, ro), test.y);
    },

    async transfer(source, target, test, eps, ev, seed, ro) {
      const r = await pgdOf(ev).run(source, test.x, test.y, { epsilons: eps, seed, ...ro });
      // Evaluate the source's examples on the target, by ONNX Runtime.
      const ort = await OrtModel.fromNetwork(target);
      try {
        const acc: number[] = [];
        for (const c of r.clipped) {
          const p = await ort.predict(c, undefined, ro);
          let ok = 0;
          for (let i = 0; i < p.length; i++) if (p[i] === test.y[i]) ok++;
          acc.push(p.length ? ok / p.length : 0);
        }
        return acc;
      } finally {
        await ort.dispose();
      }
    },

    async minimal(kind, net, test, ev, seed, ro): Promise<PerturbationStats> {
      const t = await correctRows(net, test, ro);
      if (t.n === 0) return { n: 0, successRate: 0 };
      const a: Attack =
        kind === 'deepfool'
          ? new DeepFool({ overshoot: ev.deepfool.overshoot, maxIterations: ev.deepfool.maxIter })
          : kind === 'jsma'
            ? new JSMA({ theta: ev.jsma.theta, maxIterations: ev.jsma.maxIter, pairs: ev.jsma.variant === 'pair' })
            : new CarliniWagnerL2({ searchSteps: ev.cw.searches, maxIterations: ev.cw.steps, lr: ev.cw.lr, initialConst: ev.cw.c0 });
      const r = await recheck(net, await a.run(net, t.x, t.y, { seed, ...ro }), t.y, ro);
      const s = summarize(r, t.x, t.y).perEpsilon[0];
      const num = (v: number | null) => (v === null ? undefined : v);
      return kind === 'jsma'
        ? { n: t.n, successRate: s.successRate, medianL0: num(s.medianL0), fractionChanged: num(s.fractionChanged) }
        : { n: t.n, successRate: s.successRate, medianL2: num(s.medianL2), meanL2: num(s.meanL2), rho: kind === 'deepfool' ? num(s.rho) : undefined };
    },

    async autoattack(net, test, a, ev, seed, ro, source): Promise<AutoAttackValue> {
      const t0 = performance.now();
      // The transfer check: PGD examples made on the source network (the control), on the same images.
      const transferExamples = source && a.norm === 'linf' ? (await pgdOf(ev).run(source, test.x, test.y, { epsilons: a.eps, seed, ...ro })).clipped : undefined;
      const rs = await autoAttackSweep(net, test.x, test.y, { epsilons: a.eps, norm: a.norm, version: a.version, seed, shape: test.shape, transferExamples, ...ro });
      return {
        n: test.n,
        eps: [...a.eps],
        cleanAccuracy: rs[0].cleanAccuracy,
        robust: rs.map((r) => r.robustAccuracy),
        stages: rs[0].stages.map((s, i) => ({ attack: s.attack, robust: rs.map((r) => r.stages[i].robustAccuracy) })),
        checks: rs.flatMap((r) => r.checks.map((c) => ({ eps: r.eps, id: c.id, fired: c.fired, value: c.value, message: c.message }))),
        seconds: (performance.now() - t0) / 1000,
      };
    },

    async save(net) {
      return toOnnxBytes(net);
    },
    async load(bytes) {
      return fromOnnxBytes(bytes);
    },
  };
}

export { head };
