/**
 * sleep(net, data, opts): the sleep phase of Tadros et al. (ICLR 2020) on a bias-free
 * ReLU MLP (sleep-algorithm.md). The network's weights drive an integrate-and-fire network
 * with STDP; the modified weights come back in a Network of the same shape (no rescaling:
 * the scale factors multiply only the spiking current), ready to evaluate or export.
 * The simulation runs in the native event-driven engine (native/core/sleep.cc).
 */
import { BACKENDS, type Backend } from '../native/runtime.js';
import { addon, type NativeSleepData, type NativeSleepParams, type NativeSleepStats } from '../native/binding.js';
import { ArgumentError, ShapeError, UnsupportedError, ValueError } from '../errors.js';
import { Network } from '../model/network.js';
import type { Dataset } from '../data/dataset.js';
import { runNative, throwIfAborted, type RunOptions } from '../util/control.js';
import { RUN_OPTION_KEYS, describe, expectKnownKeys, expectOneOf, expectSeed } from '../util/validate.js';
import { PARAM_KEYS, getPreset, resolveParameters, type PresetName, type SleepParameters } from './presets.js';
import { scaleFactors as computeScaleFactors, type ScaleFactors } from './normalize.js';

/** Recorded input spikes: the spikes of step t are indices[offsets[t] .. offsets[t+1]). */
export interface SpikeTrain {
  offsets: ArrayLike<number>;
  indices: ArrayLike<number>;
}

export interface SleepOptions extends RunOptions, Partial<SleepParameters> {
  /** Preset name or parameter object the other fields override (default "mnist-fgsm"). */
  preset?: PresetName | Partial<SleepParameters>;
  seed?: number;
  /** Scale factors to use instead of computing them from the data (alpha_l = alphaScale · factor_l). */
  scaleFactors?: number[];
  /** Feed these input spikes instead of drawing them (the golden replay). */
  replay?: SpikeTrain;
  /** Record a raster of every layer for steps [from, to). */
  raster?: { from: number; to: number };
  /** Sample firing rates every this many steps (default steps / 100, at least 1). */
  traceEvery?: number;
  /** "event" (default) or "dense" (the plain per-step reference, slow). */
  engine?: 'event' | 'dense';
  /** 'cpu' (default), 'cuda' (BackendError without a usable GPU) or 'auto' (CUDA when usable, else the CPU). */
  backend?: Backend;
  /** Modify `net` itself instead of a copy. */
  inPlace?: boolean;
}

export interface SleepStats {
  /** Which backend ran the sleep, and why 'auto' did not use CUDA. */
  backend: 'cpu' | 'cuda';
  backendReason?: string;
  steps: number;
  /** Seconds of the simulation itself. */
  seconds: number;
  /** Seconds of the whole call (normalisation included). */
  wallSeconds: number;
  seed: number;
  parameters: SleepParameters;
  /** factor_l and alpha_l = alphaScale · factor_l, one per weight layer. */
  scaleFactors: number[];
  alpha: number[];
  /** s_l of the normalisation (empty when scaleFactors were given). */
  layerMax: number[];
  /** Spikes per layer, input layer first (L + 1 entries). */
  spikes: number[];
  /** Spikes per neuron, per layer (input first). */
  neuronSpikes: Uint32Array[];
  /** Membrane potentials at the end of the sleep, per layer (input layer: empty). */
  membranes: Float32Array[];
  /** Neurons that fired at least once, per layer (input first). */
  neuronsFired: number[];
  /** STDP applications per weight layer: pre-synaptic spike (potentiation) or not (depression). */
  potentiation: number[];
  depression: number[];
  /** Weights whose value differs after the sleep, per weight layer. */
  weightsChanged: number[];
  /** Mean |ΔW| over all weights of the layer. */
  meanAbsChange: number[];
  /** Firing rate (Hz) per layer, sampled every `every` steps: rates[w·(L+1) + l]. */
  rateTrace: { every: number; rates: Float32Array };
  raster?: { from: number; to: number; offsets: Int32Array[]; indices: Int32Array[] };
  /** The spiking layers (input excluded), by kind: the arrays per layer above follow them. */
  layers: string[];
  /** Layers that never fired (the sleep left their weights unchanged), in words; empty when every layer fired. */
  warnings: string[];
}

export interface SleepResult {
  network: Network;
  stats: SleepStats;
}

type SleepData = Dataset | Float32Array;

function checkNetwork(net: unknown): Network {
  if (!(net instanceof Network)) throw new ArgumentError(`Expected a Network for net but received ${describe(net)}`);
  net.checkFinite();
  return net;
}

/** The network's layers as the sleep names them: "dense", "conv", "maxpool", "avgpool" (sleep-general.md §1). */
export function spikingLayers(net: Network): string[] {
  return net.chain.map((l) => l.kind);
}

/** Layers of IF neurons (dense, conv, avg-pool): one beta each. */
export function ifLayerCount(net: Network): number {
  return net.chain.filter((l) => l.kind !== 'maxpool').length;
}

/** The network's spiking layers as `sleep` numbers them (the indices of `layers` and `stats.layers`). */
export function layerListing(net: Network): string {
  return net.chain.map((l, i) => `${i} ${l.kind} ${l.out.join('×')}`).join(', ');
}

/** The chain indices of the plastic layers for the `layers` option (sleep-general.md §3). */
function plasticLayers(net: Network, layers: SleepParameters['layers']): Set<number> {
  const weighted = (kind: string) => kind === 'dense' || kind === 'conv';
  const idx = net.chain.map((l, i) => ({ kind: l.kind, i }));
  if (layers === 'all') return new Set(idx.filter((l) => weighted(l.kind)).map((l) => l.i));
  if (layers === 'dense' || layers === 'conv') return new Set(idx.filter((l) => l.kind === layers).map((l) => l.i));
  for (const [j, k] of layers.entries()) {
    if (k >= net.chain.length)
      throw new ArgumentError(`Expected layer indices in 0..${net.chain.length - 1} for layers but layers[${j}] is ${k}; the network's layers: ${layerListing(net)}`);
    if (!weighted(net.chain[k].kind))
      throw new ArgumentError(`layers[${j}] = ${k} names a ${net.chain[k].kind} layer, which has no weights to learn; the network's layers: ${layerListing(net)}`);
  }
  return new Set(layers);
}

/** Per spiking layer: current scale, threshold multiplier and plasticity (native/core/sleep.h SleepParams). */
function perLayer(net: Network, params: SleepParameters, factors: number[]): { alpha: number[]; beta: number[]; plastic: number[] } {
  const plasticSet = plasticLayers(net, params.layers);
  const alpha: number[] = [], beta: number[] = [], plastic: number[] = [];
  let k = 0, b = 0;
  for (const [i, l] of net.chain.entries()) {
    const weighted = l.kind === 'dense' || l.kind === 'conv';
    alpha.push(weighted ? params.alphaScale * factors[k] : 1);
    beta.push(l.kind === 'maxpool' ? 1 : params.beta[b++]);
    plastic.push(plasticSet.has(i) ? 1 : 0);
    if (weighted) k++;
  }
  return { alpha, beta, plastic };
}

/** A beta that does not fit the network: ArgumentError naming beta and the network's layers. */
function checkBetaFits(net: Network, preset: SleepOptions['preset'], beta: unknown): void {
  const n = ifLayerCount(net);
  const given = beta !== undefined ? beta : typeof preset === 'object' && preset !== null ? preset.beta : undefined;
  if (given === undefined && (preset === undefined || typeof preset === 'string')) {
    const name = preset ?? 'mnist-fgsm';
    const b = getPreset(name).beta;
    if (b.length === n) return;
    throw new ArgumentError(
      `The ${name} preset's beta has ${b.length} values (for a network with ${b.length} layers of IF neurons) but this network has ${n}: give beta with ${n} values (one per dense, conv and average-pool layer); the network's layers: ${layerListing(net)}`,
    );
  }
  if (!Array.isArray(given) || given.length === n) return;
  throw new ArgumentError(
    `Expected ${n} values for beta (one per layer of IF neurons: dense, conv and average-pool layers) but received ${given.length}; the network's layers: ${layerListing(net)}`,
  );
}

function dataRows(net: Network, data: SleepData): { x: Float32Array; n: number; shape?: [number, number] } {
  const x = data instanceof Float32Array ? data : (data as Dataset)?.x;
  if (!(x instanceof Float32Array)) throw new ArgumentError(`Expected a Dataset or Float32Array for data but received ${describe(data)}`);
  // Shape here; the native side checks that the rows it reads are finite (fast, off the main thread).
  if (x.length % net.inputSize !== 0)
    throw new ShapeError(`Expected data to hold a multiple of ${net.inputSize} values (n × ${net.inputSize}) but it holds ${x.length}`);
  const n = x.length / net.inputSize;
  if (n === 0) throw new ShapeError('Expected at least one data row for the sleep input');
  return { x, n, shape: data instanceof Float32Array ? undefined : (data as Dataset).shape };
}

function toInt32(a: ArrayLike<number>, name: string): Int32Array {
  if (a instanceof Int32Array) return a;
  if (!a || typeof a.length !== 'number') throw new ArgumentError(`Expected an array of integers for ${name} but received ${describe(a)}`);
  return Int32Array.from(a);
}

interface Prepared {
  params: SleepParameters;
  native: NativeSleepParams;
  seed: number;
  scale: ScaleFactors | null;
  factors: number[];
}

/** Every key SleepOptions has: a misspelt option is an error, not silently the preset's value. */
export const SLEEP_OPTION_KEYS = ['preset', 'seed', 'scaleFactors', 'replay', 'raster', 'traceEvery', 'engine', 'backend', 'inPlace', ...RUN_OPTION_KEYS, ...PARAM_KEYS] as const;

async function prepare(net: Network, rows: { x: Float32Array; n: number }, opts: SleepOptions, cache: Map<string, ScaleFactors>): Promise<Prepared> {
  expectKnownKeys(opts, SLEEP_OPTION_KEYS, 'sleep options');
  const { preset, seed: s, scaleFactors: given, replay, raster, traceEvery, engine, backend, inPlace, onProgress, signal, ...overrides } = opts;
  void replay, engine, backend, inPlace, onProgress, signal;
  checkBetaFits(net, preset, overrides.beta);
  const params = resolveParameters(preset, overrides, ifLayerCount(net));
  if (params.inhibition > 0 && net.chain.some((l) => l.kind !== 'dense'))
    throw new UnsupportedError(`lateral inhibition is defined for fully connected layers only; the network's layers: ${layerListing(net)}`);
  const seed = expectSeed(s ?? 0);
  let scale: ScaleFactors | null = null;
  let factors: number[];
  if (given !== undefined) {
    if (!Array.isArray(given) || given.length !== net.weightLayers)
      throw new ShapeError(`Expected ${net.weightLayers} values for scaleFactors but received ${describe(given)}`);
    given.forEach((f, i) => {
      if (typeof f !== 'number' || !(f > 0) || !Number.isFinite(f))
        throw new ValueError(`Expected a positive finite number for scaleFactors[${i}] but received ${describe(f)}`);
    });
    factors = [...given];
  } else {
    const key = `${params.normalization}/${params.percentile}`;
    scale = cache.get(key) ?? null;
    if (!scale) {
      scale = await computeScaleFactors(net, rows.x, params.normalization, { percentile: params.percentile, signal, onProgress });
      cache.set(key, scale);
    }
    factors = scale.factors;
  }
  const every = traceEvery ?? Math.max(1, Math.floor(params.steps / 100));
  if (!Number.isInteger(every) || every < 1) throw new ValueError(`Expected an integer >= 1 for traceEvery but received ${describe(every)}`);
  const from = raster?.from ?? 0;
  const to = raster?.to ?? 0;
  if (raster && (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to > params.steps))
    throw new ValueError(`Expected 0 <= raster.from <= raster.to <= steps (${params.steps}) but received ${from}..${to}`);
  const layer = perLayer(net, params, factors);
  const native: NativeSleepParams = {
    steps: params.steps,
    dt: params.dt,
    maxRate: params.maxRate,
    inc: params.inc,
    dec: params.dec,
    threshold: params.threshold,
    decay: params.decay,
    inhibition: params.inhibition,
    dc: params.dc,
    alpha: layer.alpha,
    beta: layer.beta,
    plastic: layer.plastic,
    bias: params.bias,
    convStdp: params.convStdp,
    gate: params.stdpGate,
    gateWidth: params.gateWidth,
    seed,
    maskSize: params.maskSize,
    traceEvery: every,
    rasterFrom: from,
    rasterTo: to,
  };
  return { params, native, seed, scale, factors };
}

function nativeData(net: Network, rows: { x: Float32Array; n: number; shape?: [number, number] }, params: SleepParameters, replay?: SpikeTrain): NativeSleepData {
  if (replay) {
    const offsets = toInt32(replay.offsets, 'replay.offsets');
    const indices = toInt32(replay.indices, 'replay.indices');
    if (offsets.length < params.steps + 1)
      throw new ShapeError(`Expected replay.offsets to hold steps + 1 = ${params.steps + 1} entries but it holds ${offsets.length}`);
    return { mode: 'replay', replayOffsets: offsets, replayIndices: indices };
  }
  const [C, H, W] = net.inputShape;
  const image = H > 1 || W > 1 ? { imageC: C, imageH: H, imageW: W } : rows.shape ? { imageC: 1, imageH: rows.shape[0], imageW: rows.shape[1] } : null;
  if (params.input === 'masked-mean' && !image)
    throw new ShapeError('The masked-mean sleep input needs image data (a network with an image input, or a Dataset with a shape)');
  if (params.input === 'masked-mean' && image && (params.maskSize > image.imageH || params.maskSize > image.imageW))
    throw new ArgumentError(
      `Expected maskSize <= ${Math.min(image.imageH, image.imageW)} (the masked-mean window lies inside the ${image.imageH}×${image.imageW} image) but received ${params.maskSize}; the network's layers: ${layerListing(net)}`,
    );
  return { mode: params.input, x: rows.x, n: rows.n, ...(image ?? {}) };
}

/** What a user must hear about a sleep: layers that never fired (the sleep then left their weights as they were). */
export function sleepWarnings(spikes: number[], kinds?: string[]): string[] {
  const out: string[] = [];
  if (spikes[0] === 0) return ['no input unit fired during the sleep (maxRate too low, or empty inputs): nothing changed'];
  const silent = spikes.map((s, l) => (l > 0 && s === 0 ? l : -1)).filter((l) => l > 0);
  if (silent.length) {
    const L = spikes.length - 1;
    const kind = (l: number) => (kinds && kinds.some((k) => k !== 'dense') ? ` (${kinds[l - 1]})` : '');
    const which = silent.map((l) => (l === L ? `the output layer (${l})` : `hidden layer ${l}${kind(l)}`)).join(', ');
    out.push(
      `${which} never fired during the sleep, so STDP changed no weight into ${silent.length > 1 ? 'them' : 'it'}` +
        ` (in the paper's mnist-fgsm setting only W1 changes; if these layers should learn, tune beta, alphaScale and maxRate with nrem tune)`,
    );
  }
  return out;
}

function toStats(st: NativeSleepStats, p: Prepared, net: Network, t0: number): SleepStats {
  const counts = net.chain.map((l) => (l.kind === 'dense' ? l.units! * l.in[0] * l.in[1] * l.in[2] : l.kind === 'conv' ? l.units! * l.in[0] * l.window![0] * l.window![1] : 0));
  return {
    backend: st.backend ?? 'cpu',
    ...(st.backendReason ? { backendReason: st.backendReason } : {}),
    steps: st.steps,
    seconds: st.seconds,
    wallSeconds: (performance.now() - t0) / 1000,
    seed: p.seed,
    parameters: p.params,
    scaleFactors: p.factors,
    alpha: p.native.alpha,
    layerMax: p.scale?.layerMax ?? [],
    spikes: st.spikes,
    neuronSpikes: st.neuronSpikes,
    membranes: st.membranes,
    neuronsFired: st.neuronSpikes.map((a) => a.reduce((c, v) => c + (v > 0 ? 1 : 0), 0)),
    potentiation: st.potentiation,
    depression: st.depression,
    weightsChanged: st.changed,
    meanAbsChange: st.absChange.map((s, l) => (counts[l] ? s / counts[l] : 0)),
    layers: spikingLayers(net),
    warnings: sleepWarnings(st.spikes, spikingLayers(net)),
    rateTrace: { every: p.native.traceEvery, rates: st.trace },
    raster:
      st.rasterOffsets && st.rasterIndices
        ? { from: p.native.rasterFrom, to: p.native.rasterTo, offsets: st.rasterOffsets, indices: st.rasterIndices }
        : undefined,
  };
}

function backendOf(o: SleepOptions): Backend {
  return expectOneOf(o.backend ?? 'cpu', 'backend', BACKENDS);
}


/**
 * Sleeps a copy of `net` (or `net` itself with inPlace) on `data` (its rows are the sleep
 * input; they also give the scale factors unless scaleFactors is set). Progress events:
 * phase "normalize" then "sleep"; an aborted signal rejects with AbortError.
 */
export async function sleep(net: Network, data: SleepData, opts: SleepOptions = {}): Promise<SleepResult> {
  const t0 = performance.now();
  checkNetwork(net);
  const rows = dataRows(net, data);
  const p = await prepare(net, rows, opts, new Map());
  const nd = nativeData(net, rows, p.params, opts.replay);
  const engine = opts.engine ?? 'event';
  if (engine !== 'event' && engine !== 'dense') throw new ValueError(`Expected one of event, dense for engine but received ${describe(engine)}`);
  throwIfAborted(opts.signal);
  const out = opts.inPlace ? net : net.clone();
  const st = await runNative(opts, (c) => addon().sleepRun(out.native(), nd, p.native, engine, c, backendOf(opts)));
  return { network: out, stats: toStats(st, p, net, t0) };
}

/**
 * K independent sleeps of copies of `net` on the same data, one per options object
 * (different seeds or parameters), run in one native call over all cores. Progress and
 * abort come from the first options object. Replay and the dense engine are not offered here.
 */
export async function sleepBatch(net: Network, data: SleepData, optsList: SleepOptions[]): Promise<SleepResult[]> {
  const t0 = performance.now();
  checkNetwork(net);
  if (!Array.isArray(optsList) || optsList.length === 0)
    throw new ArgumentError(`Expected a non-empty array of options for optsList but received ${describe(optsList)}`);
  const rows = dataRows(net, data);
  const cache = new Map<string, ScaleFactors>();
  const prepared: Prepared[] = [];
  for (const o of optsList) {
    if (o.replay || (o.engine && o.engine !== 'event')) throw new UnsupportedError('sleepBatch runs the event engine on drawn input only');
    prepared.push(await prepare(net, rows, o, cache));
  }
  const inputs = new Set(prepared.map((p) => p.params.input));
  if (inputs.size > 1) throw new ValueError('Every sleep of a batch needs the same input kind');
  const nd = nativeData(net, rows, prepared[0].params);
  const copies = prepared.map(() => net.clone());
  const ctl = optsList[0];
  const stats = await runNative(ctl, (c) => addon().sleepBatch(copies.map((c) => c.native()), nd, prepared.map((p) => p.native), c, backendOf(ctl)));
  return stats.map((st, k) => ({ network: copies[k], stats: toStats(st, prepared[k], net, t0) }));
}
