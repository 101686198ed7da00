/**
 * The unit graph of an experiment: built from the spec alone (no computation), one node
 * per unit of work — a network to build (stored as ONNX) or an evaluation (stored as
 * JSON). Nodes are in dependency order. Each node's key hashes its params and its
 * inputs' keys (store.ts), so the graph is content-addressed end to end.
 */
import type { Network } from '../model/network.js';
import type { RunOptions } from '../util/control.js';
import { unitKey } from './store.js';
import type { NetworkId } from './results.js';
import type { ExperimentSpec } from './spec.js';
import type { AutoAttackValue, FinetuneKind, LoadedData, Ops, PerturbationStats, SleepStats, TunedSleep } from './ops.js';
import { architectureOf, archText } from '../model/arch.js';

export interface NetValue {
  cleanAccuracy: number;
  /** Wall seconds to build the network (its cost as a defence). */
  seconds: number;
  sleep?: SleepStats & { seconds: number };
  /** The control's architecture in words (archText). */
  arch?: string;
}
export interface CurveValue {
  x: number[];
  accuracy: number[];
}
export type UnitValue = NetValue | CurveValue | PerturbationStats | TunedSleep | AutoAttackValue;

export interface UnitCtx {
  ops: Ops;
  data(): Promise<LoadedData>;
  /** The evaluation test set (first testSize rows) and attack subsets (first n rows). */
  evalSet(n?: number): Promise<LoadedData['test']>;
  net(node: UnitNode): Promise<Network>;
  /** The value an input unit recorded (a tune unit's parameters). */
  value<T extends UnitValue>(node: UnitNode): Promise<T>;
  ro: RunOptions;
}

export interface UnitNode {
  key: string;
  kind: string;
  label: string;
  seed: number;
  params: unknown;
  deps: UnitNode[];
  /** Planned relative cost, for the ETA. */
  weight: number;
  /** What this node is in the results: a network, a curve point set, or perturbation stats. */
  role:
    | { type: 'net'; network: NetworkId }
    | { type: 'curve'; curve: string; network: NetworkId }
    | { type: 'pert'; attack: 'deepfool' | 'jsma' | 'cw'; network: NetworkId }
    | { type: 'tune' }
    | { type: 'autoattack'; network: NetworkId };
  /** Computed by the coordinating process, never handed to workers (it reads the user's files: the given control). */
  local?: boolean;
  run(ctx: UnitCtx): Promise<{ value: UnitValue; net?: Network }>;
}

const CURVE_NETS: NetworkId[] = ['control', 'distillation', 'finetune-fgsm', 'pgd-train', 'sleep'];

export function buildGraph(spec: ExperimentSpec): UnitNode[] {
  const nodes: UnitNode[] = [];
  const ev = spec.evaluation;
  const d = spec.defences;
  for (const seed of spec.seeds) {
    const dataP = { data: spec.data, quick: spec.quick, seed };
    const add = (n: Omit<UnitNode, 'key'>): UnitNode => {
      const node = { ...n, key: unitKey(n.kind, n.params, n.deps.map((x) => x.key)) } as UnitNode;
      nodes.push(node);
      return node;
    };
    const nets = new Map<NetworkId, UnitNode>();
    const netUnit = (network: NetworkId, kind: string, params: unknown, deps: UnitNode[], weight: number, build: (ctx: UnitCtx) => Promise<{ net: Network; sleep?: SleepStats }>) => {
      const node = add({
        kind,
        label: `seed ${seed} / ${network}`,
        seed,
        params,
        deps,
        weight,
        role: { type: 'net', network },
        async run(ctx) {
          const t0 = performance.now();
          const { net, sleep } = await build(ctx);
          const seconds = (performance.now() - t0) / 1000;
          const test = await ctx.evalSet();
          const cleanAccuracy = await ctx.ops.accuracy(net, test, ctx.ro);
          return { value: { cleanAccuracy, seconds, ...(sleep ? { sleep: { ...sleep, seconds } } : {}), ...(network === 'control' ? { arch: archText(net) } : {}) }, net };
        },
      });
      nets.set(network, node);
      return node;
    };
    const epochW = spec.train.epochs;
    const given = spec.control;
    const control = given
      ? netUnit('control', 'import', { ...dataP, model: { sha256: given.sha256 ?? null } }, [], 1, async (ctx) => ({
          net: await ctx.ops.importControl(given, await ctx.data(), ctx.ro),
        }))
      : netUnit('control', 'train', { ...dataP, train: spec.train }, [], 10 * epochW, async (ctx) => ({
          net: await ctx.ops.train(await ctx.data(), spec.train, seed, ctx.ro),
        }));
    if (given) control.local = true;
    /** Defences trained to the control's architecture: a given control's, or the spec's. */
    const archDeps = given ? [control] : [];
    const archOf = async (ctx: UnitCtx) => (given ? architectureOf(await ctx.net(control)) : undefined);
    // The recipe fine-tuning uses: recorded in the key only where it is not the paper's (keys of the paper's studies unchanged).
    const ftRecipe = spec.train.recipe === 'modern' ? { recipe: 'modern' } : {};
    const tuneP = spec.sleep.preset === 'tune' ? spec.sleep.tune : undefined;
    const tuneNode = tuneP
      ? add({
          kind: 'sleep-tune',
          label: `seed ${seed} / sleep (tuning)`,
          seed,
          params: { ...dataP, tune: tuneP },
          deps: [control],
          weight: Math.max(20, tuneP.budget),
          role: { type: 'tune' },
          async run(ctx) {
            return { value: await ctx.ops.tuneSleep(await ctx.net(control), await ctx.data(), tuneP, seed, ctx.ro) };
          },
        })
      : undefined;
    netUnit('sleep', 'sleep', { ...dataP, sleep: spec.sleep }, tuneNode ? [control, tuneNode] : [control], 20, async (ctx) => {
      const tuned = tuneNode ? (await ctx.value<TunedSleep>(tuneNode)).parameters : undefined;
      const r = await ctx.ops.sleep(await ctx.net(control), await ctx.data(), spec.sleep, seed, ctx.ro, tuned);
      return { net: r.net, sleep: r.stats };
    });
    if (d.distillation) {
      const p = d.distillation;
      netUnit('distillation', 'distill', { ...dataP, train: spec.train, distillation: p, impl: 'reparametrised-T' }, archDeps, 20 * p.epochs, async (ctx) => ({
        net: await ctx.ops.distill(await ctx.data(), spec.train, p, seed, ctx.ro, await archOf(ctx)),
      }));
    }
    if (d.finetune) {
      const f = d.finetune;
      const kinds: FinetuneKind[] = ['fgsm', 'noise', 'blur', ...f.attacks];
      for (const kind of kinds) {
        if (kind === 'blur' && !(f.blurSigma > 0)) continue;
        const attackP = kind === 'deepfool' || kind === 'jsma' || kind === 'cw' ? { attack: ev[kind], replace: f.attackReplace } : {};
        netUnit(`finetune-${kind}` as NetworkId, 'finetune', { ...dataP, finetune: { ...f, attacks: undefined, attackReplace: undefined }, kind, ...attackP, ...ftRecipe }, [control], 20, async (ctx) => ({
          net: await ctx.ops.finetune(await ctx.net(control), await ctx.data(), kind, f, ev, seed, ctx.ro, spec.train.recipe),
        }));
      }
    }
    if (d.pgdTrain) {
      const p = d.pgdTrain;
      netUnit('pgd-train', 'pgd-train', { ...dataP, train: spec.train, pgdTrain: p }, p.fromControl ? [control] : archDeps, 10 * p.epochs * (p.steps + 1), async (ctx) => ({
        net: await ctx.ops.pgdTrain(await ctx.data(), spec.train, p, seed, ctx.ro, p.fromControl ? await ctx.net(control) : undefined, await archOf(ctx)),
      }));
    }

    const evalNode = (curve: string, network: NetworkId, params: unknown, weight: number, fn: (ctx: UnitCtx, net: Network) => Promise<CurveValue>) => {
      const src = nets.get(network);
      if (!src) return;
      add({ kind: `eval-${curve}`, label: `seed ${seed} / ${curve} / ${network}`, seed, params: { ...dataP, testSize: ev.testSize, ...(params as object) }, deps: [src], weight, role: { type: 'curve', curve, network }, async run(ctx) {
        return { value: await fn(ctx, await ctx.net(src)) };
      } });
    };
    const pick = (ids: NetworkId[]) => ids.filter((id) => nets.has(id));
    for (const loss of ev.fgsm.losses)
      for (const id of pick(CURVE_NETS))
        evalNode(`fgsm-${loss}`, id, { eps: ev.fgsm.eps, loss }, 2, async (ctx, net) => ({ x: ev.fgsm.eps, accuracy: await ctx.ops.fgsm(net, await ctx.evalSet(), ev.fgsm.eps, loss, ctx.ro) }));
    if (ev.noise.variances.length)
      for (const id of pick(['control', 'distillation', 'finetune-noise', 'pgd-train', 'sleep']))
        evalNode('noise', id, { variances: ev.noise.variances }, 1, async (ctx, net) => ({ x: ev.noise.variances, accuracy: await ctx.ops.noise(net, await ctx.evalSet(), ev.noise.variances, seed, ctx.ro) }));
    if (ev.blur.sigmas.length)
      for (const id of pick(['control', 'distillation', 'finetune-blur', 'pgd-train', 'sleep']))
        evalNode('blur', id, { sigmas: ev.blur.sigmas }, 1, async (ctx, net) => ({ x: ev.blur.sigmas, accuracy: await ctx.ops.blur(net, await ctx.evalSet(), ev.blur.sigmas, ctx.ro) }));
    for (const attack of ['deepfool', 'jsma', 'cw'] as const) {
      const p = ev[attack];
      if (!(p.n > 0)) continue;
      for (const network of pick(['control', 'distillation', `finetune-${attack}` as NetworkId, 'pgd-train', 'sleep'])) {
        const src = nets.get(network)!;
        add({ kind: `eval-${attack}`, label: `seed ${seed} / ${attack} / ${network}`, seed, params: { ...dataP, [attack]: p }, deps: [src], weight: attack === 'deepfool' ? 2 : 4, role: { type: 'pert', attack, network }, async run(ctx) {
          return { value: await ctx.ops.minimal(attack, await ctx.net(src), await ctx.evalSet(p.n), ev, seed, ctx.ro) };
        } });
      }
    }
    for (const attack of ['pgd', 'square'] as const) {
      const p = ev[attack];
      if (!(p.n > 0) || !p.eps.length) continue;
      for (const id of pick(CURVE_NETS))
        evalNode(attack, id, { [attack]: p }, attack === 'pgd' ? 3 : 3, async (ctx, net) => ({ x: [0, ...p.eps], accuracy: await withClean(ctx, net, p.n, (t) => ctx.ops.sweep(attack, net, t, p.eps, ev, seed, ctx.ro)) }));
    }
    if (ev.transfer.n > 0 && ev.transfer.eps.length) {
      const p = ev.transfer;
      for (const network of pick(CURVE_NETS)) {
        const target = nets.get(network)!;
        add({ kind: 'eval-transfer', label: `seed ${seed} / transfer / ${network}`, seed, params: { ...dataP, transfer: p, pgd: { steps: ev.pgd.steps, loss: ev.pgd.loss } }, deps: [control, target], weight: 2, role: { type: 'curve', curve: 'transfer', network }, async run(ctx) {
          const src = await ctx.net(control);
          const net = await ctx.net(target);
          return { value: { x: [0, ...p.eps], accuracy: await withClean(ctx, net, p.n, (t) => ctx.ops.transfer(src, net, t, p.eps, ev, seed, ctx.ro)) } };
        } });
      }
    }
    const aa = ev.autoattack;
    if (aa && aa.n > 0 && aa.eps.length) {
      // The headline robust accuracy; networks other than the control also get the transfer
      // check (PGD examples crafted on the control, on the same images).
      for (const network of pick(CURVE_NETS)) {
        const target = nets.get(network)!;
        const deps = network === 'control' ? [target] : [control, target];
        const transfer = network === 'control' ? {} : { transfer: { pgd: { steps: ev.pgd.steps, restarts: ev.pgd.restarts, loss: ev.pgd.loss } } };
        add({ kind: 'eval-autoattack', label: `seed ${seed} / autoattack / ${network}`, seed, params: { ...dataP, testSize: ev.testSize, autoattack: aa, ...transfer }, deps, weight: 6 * aa.eps.length, role: { type: 'autoattack', network }, async run(ctx) {
          const net = await ctx.net(target);
          const source = network === 'control' ? undefined : await ctx.net(control);
          return { value: await ctx.ops.autoattack(net, await ctx.evalSet(aa.n), aa, ev, seed, ctx.ro, source) };
        } });
      }
    }
  }
  return nodes;
}

/** Clean accuracy on the attack subset at eps 0, then the attack's curve. */
async function withClean(ctx: UnitCtx, net: Network, n: number, f: (t: LoadedData['test']) => Promise<number[]>): Promise<number[]> {
  const t = await ctx.evalSet(n);
  return [await ctx.ops.accuracy(net, t, ctx.ro), ...(await f(t))];
}
