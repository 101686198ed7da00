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
import { ifLayerCount, sleep } from '../sleep/sleep.js';
import { resolveParameters, type PresetName, type SleepParameters } from '../sleep/presets.js';
import { tune } from '../tune/tune.js';
import { cachedScaleFactors } from '../sleep/scale-cache.js';
import { architectureOf, archFor, archText, readArch, type Architecture } from '../model/arch.js';
import { readInputFile, MODEL_FILE_LIMIT } from '../util/files.js';
import { derivedFrom, madeFrom, parseProvenance, setProvenance } from '../model/provenance.js';
import { externalReader, importOnnx } from '../model/onnx.js';
import { createHash } from 'node:crypto';
import { FormatError, ShapeError } from '../errors.js';
import { OrtPool } from '../model/ort-pool.js';
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

/** Fine-tuning's recipe: the paper's loss and batches for the paper's recipes (paper-octave's random stream is the control's only), else modern. */
function finetuneRecipe(r: TrainSpec['recipe'] | undefined): 'paper' | 'modern' {
  return r === 'modern' ? 'modern' : 'paper';
}

/** Native predictions re-checked by ONNX Runtime: accuracy (and success) counted on ORT's predictions. */
async function recheck(ort: OrtModel, r: AttackResult, labels: Int32Array, ro: RunOptions): Promise<AttackResult> {
  const predictions: Int32Array[] = [];
  for (const c of r.clipped) predictions.push(await ort.predict(c, undefined, ro));
  const success = predictions.map((p, e) => {
    const s = new Uint8Array(p.length);
    for (let i = 0; i < p.length; i++) s[i] = r.targets ? +(p[i] === r.targets[i] && r.success[e][i] === 1) : +(p[i] !== labels[i] && r.success[e][i] === 1);
    return s;
  });
  return { ...r, predictions, success };
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

/**
 * PGD examples crafted on a network (the control, for the transfer curves and AutoAttack's
 * transfer check), kept while that network object is alive: every target of a seed is attacked
 * with the same examples — same source, rows, eps, PGD settings and seed — so they are crafted
 * once per seed instead of once per target. Rows are told apart by their buffer and place in it
 * (the evaluation subsets are views of the seed's test set); a craft that fails is not kept.
 */
class CraftedExamples {
  private readonly bySource = new WeakMap<Network, Map<string, Promise<Float32Array[]>>>();
  private readonly bufferIds = new WeakMap<ArrayBufferLike, number>();
  private nextId = 0;

  get(source: Network, test: Dataset, eps: number[], ev: EvaluationSpec, seed: number, ro: RunOptions): Promise<Float32Array[]> {
    let id = this.bufferIds.get(test.x.buffer);
    if (id === undefined) this.bufferIds.set(test.x.buffer, (id = this.nextId++));
    // ev.pgd whole (pgdOf reads part of it): a setting pgdOf comes to read is in the key already.
    const key = JSON.stringify([id, test.x.byteOffset, test.x.length, eps, ev.pgd, seed]);
    let m = this.bySource.get(source);
    if (!m) this.bySource.set(source, (m = new Map()));
    let p = m.get(key);
    if (!p) {
      const map = m;
      p = pgdOf(ev).run(source, test.x, test.y, { epsilons: eps, seed, ...ro }).then((r) => r.clipped);
      map.set(key, p);
      p.catch(() => map.get(key) === p && map.delete(key));
    }
    return p;
  }
}

/**
 * The real operations. One ONNX Runtime session per network is kept for the re-checks of all
 * its units (`ortSessions` of them at most, least recently used closed first; `release()`
 * closes them all).
 */
export function realOps(opts: { ortSessions?: number } = {}): Ops & { release(): Promise<void> } {
  const ort = new OrtPool(opts.ortSessions ?? 4);
  const crafted = new CraftedExamples();
  return {
    release: () => ort.clear(),
    async loadData(source, { quick, seed }) {
      const s = await loadDataset(source, { quick, seed });
      return { train: s.train, test: s.test };
    },

    async train(data, spec, seed, ro) {
      const arch = archOfSpec(spec, data);
      const net = createNetwork(spec.recipe, arch, seed);
      if (data.train.classes > net.outputSize)
        throw new ShapeError(`Expected the control's architecture to end with at least ${data.train.classes} outputs (the data's classes) but it ends with ${net.outputSize}`);
      await train(net, data.train, { ...recipeOptions(spec.recipe, seed), epochs: spec.epochs, ...ro });
      return madeFrom(net, data.train, 'train', { recipe: spec.recipe, arch: archText(net), seed, epochs: spec.epochs }, { name: spec.recipe, seed, epochs: spec.epochs });
    },

    async importControl(c, data, ro) {
      void ro;
      const bytes = await readInputFile(c.model, { maxBytes: MODEL_FILE_LIMIT, what: 'ONNX model' });
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (c.sha256 && sha !== c.sha256)
        throw new FormatError(`${c.model}: the file changed since the spec was written (sha256 ${sha}, the spec says ${c.sha256}); run nrem reproduce --model ${c.model} again to study the new file`);
      const imp = importOnnx(bytes, c.model, { external: externalReader(c.model) });
      const net = imp.net;
      const prov = parseProvenance(imp.metadata);
      if (prov) setProvenance(net, prov);
      if (net.inputSize !== data.train.dims)
        throw new ShapeError(`${c.model}: the network takes ${net.inputSize} inputs but ${data.train.name} has ${data.train.dims} features per row`);
      if (net.outputSize < data.train.classes)
        throw new ShapeError(`${c.model}: the network has ${net.outputSize} outputs but ${data.train.name} has ${data.train.classes} classes`);
      return net;
    },

    async distill(data, spec, d, seed, ro, arch) {
      const r = await distill(spec.recipe, arch ?? archOfSpec(spec, data), data.train, { temperature: d.temperature, epochs: d.epochs, seed, ...ro });
      return madeFrom(r.student, data.train, 'distillation', { recipe: spec.recipe, seed, temperature: d.temperature, epochs: d.epochs });
    },

    async finetune(control, data, kind, f, ev, seed, ro, recipe) {
      const replace = kind === 'deepfool' || kind === 'jsma' || kind === 'cw' ? f.attackReplace : f.replace;
      const r = await finetune(control, data.train, {
        kind,
        seed,
        // the spec's modern recipe, else the control's own loss: the paper's squared error for ReLU-output networks, else cross-entropy
        recipe: recipe === 'modern' || control.output !== 'relu' ? 'modern' : finetuneRecipe(recipe),
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
      return derivedFrom(r.network, control, 'finetune', { kind, seed, lr: f.lr, epochs: f.epochs, replace }, data.train);
    },

    async pgdTrain(data, spec, p, seed, ro, init, arch) {
      const r = await pgdTrain(spec.recipe, arch ?? archOfSpec(spec, data), data.train, { seed, eps: p.eps, steps: p.steps, stepSize: p.stepSize, epochs: p.epochs, init, ...ro });
      const params = { recipe: spec.recipe, seed, eps: p.eps, steps: p.steps, stepSize: p.stepSize, epochs: p.epochs };
      return init ? derivedFrom(r.network, init, 'pgd-train', params, data.train) : madeFrom(r.network, data.train, 'pgd-train', params);
    },

    async tuneSleep(control, data, t, seed, ro) {
      const r = await tune(control, data.train, {
        algorithm: t.algorithm,
        budget: t.budget,
        objective: t.objective,
        valSize: t.valSize,
        valSplit: 'tail',
        seed,
        sleepSeed: seed,
        signal: ro.signal,
        onProgress: ro.onProgress,
      });
      const h = r.history;
      return {
        algorithm: h.algorithm,
        budget: h.budget,
        objective: t.objective,
        valRows: Math.min(t.valSize, data.train.n),
        parameters: { ...r.best.parameters },
        score: r.best.score,
        controlScore: h.control.score,
        baseline: h.baseline ? { name: h.baseline.name, score: h.baseline.score } : null,
      };
    },

    async sleep(control, data, s: SleepSpec, seed, ro, tuned) {
      const overrides = { ...(s.parameters as Partial<SleepParameters> | undefined), ...(s.input ? { input: s.input } : {}), ...(s.steps ? { steps: s.steps } : {}), ...(s.beta ? { beta: s.beta } : {}) } as Partial<SleepParameters>;
      const base = tuned ? (tuned as Partial<SleepParameters>) : (s.preset as PresetName);
      const p = resolveParameters(base, overrides, ifLayerCount(control));
      const { input, steps } = p;
      const preset = p;
      // The scale factors of this control on these rows: once, then from nrem's cache (src/sleep/scale-cache.ts).
      const scale = await cachedScaleFactors(control, data.train, p.normalization, { percentile: p.percentile, signal: ro.signal });
      const r = await sleep(control, data.train, { preset: p, seed, scaleFactors: scale.factors, ...ro });
      const n = data.train.n;
      const words =
        input === 'sequence'
          ? `sequence — the ${n.toLocaleString('en-US')} training rows of ${data.train.name} in their order${steps > n ? ', cycled' : ''} (${Math.min(steps, n).toLocaleString('en-US')} distinct rows fed)`
          : input === 'mean'
            ? `mean — the mean training input at every step (${data.train.name})`
            : `masked-mean — the mean training image in a random ${preset.maskSize}×${preset.maskSize} window per step`;
      return {
        net: await derivedFrom(r.network, control, 'sleep', { ...(tuned ? { tuned: true } : { preset: s.preset }), ...p, seed, steps: r.stats.steps }, data.train),
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
      return accuracies(await recheck(await ort.get(net), r, test.y, ro), test.y);
    },

    async transfer(source, target, test, eps, ev, seed, ro) {
      const examples = await crafted.get(source, test, eps, ev, seed, ro);
      // Evaluate the source's examples on the target, by ONNX Runtime.
      const session = await ort.get(target);
      const acc: number[] = [];
      for (const c of examples) {
        const p = await session.predict(c, undefined, ro);
        let ok = 0;
        for (let i = 0; i < p.length; i++) if (p[i] === test.y[i]) ok++;
        acc.push(p.length ? ok / p.length : 0);
      }
      return acc;
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
      const r = await recheck(await ort.get(net), await a.run(net, t.x, t.y, { seed, ...ro }), t.y, ro);
      const s = summarize(r, t.x, t.y).perEpsilon[0];
      const num = (v: number | null) => (v === null ? undefined : v);
      return kind === 'jsma'
        ? { n: t.n, successRate: s.successRate, medianL0: num(s.medianL0), fractionChanged: num(s.fractionChanged) }
        : { n: t.n, successRate: s.successRate, medianL2: num(s.medianL2), meanL2: num(s.meanL2), rho: kind === 'deepfool' ? num(s.rho) : undefined };
    },

    async autoattack(net, test, a, ev, seed, ro, source): Promise<AutoAttackValue> {
      const t0 = performance.now();
      // The transfer check: PGD examples made on the source network (the control), on the same images.
      const transferExamples = source && a.norm === 'linf' ? await crafted.get(source, test, a.eps, ev, seed, ro) : undefined;
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
