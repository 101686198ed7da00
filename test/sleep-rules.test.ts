/**
 * The sleep rule step by step on a hand-built 3-layer network (3-2-2-1), with a fixed
 * input-spike stream, against membranes, spikes and weights computed by hand
 * (float32 arithmetic mirrored with Math.fround).
 */
import { describe, expect, it } from 'vitest';
import { Network, sleep, type SleepOptions } from '../src/index.js';

const f = Math.fround;

function toy(): Network {
  const net = new Network({ sizes: [3, 2, 2, 1], output: 'relu' });
  net.setWeights(0, Float32Array.from([0.5, 0.5, 0, 0, 0, 1])); // W1 (2×3)
  net.setWeights(1, Float32Array.from([0.75, 0.8125, 0.5, 0.5])); // W2 (2×2)
  net.setWeights(2, Float32Array.from([1, 0.5])); // W3 (1×2)
  return net;
}

// Input spikes: step 0 → {0, 1}, step 1 → {0}, step 2 → {2}.
const replay = { offsets: [0, 2, 3, 4], indices: [0, 1, 0, 2] };

function opts(steps: number, extra: Partial<SleepOptions> = {}): SleepOptions {
  return {
    steps,
    replay,
    scaleFactors: [1, 1, 1],
    alphaScale: 1,
    decay: 0.5,
    threshold: 1,
    beta: [1, 1, 1],
    inc: 0.1,
    dec: 0.05,
    stdpGate: 'none',
    raster: { from: 0, to: steps },
    ...extra,
  };
}

function rasterOf(r: { offsets: Int32Array[]; indices: Int32Array[] }, layer: number): number[][] {
  const o = r.offsets[layer];
  const out: number[][] = [];
  for (let t = 0; t + 1 < o.length; t++) out.push(Array.from(r.indices[layer].subarray(o[t], o[t + 1])));
  return out;
}

describe('sleep rule on a hand-built network', () => {
  it('step 0: v1 = W1·s0 reaches threshold exactly (>=), fires, STDP on its row, resets', async () => {
    const { network, stats } = await sleep(toy(), new Float32Array(3), opts(1));
    // I1 = [0.5 + 0.5, 0] = [1, 0]: neuron 0 fires at v = 1.0 exactly.
    expect(rasterOf(stats.raster!, 1)).toEqual([[0]]);
    // W1 row 0: pre {0,1} potentiated (+0.1), pre 2 depressed (−0.05); row 1 untouched.
    expect(Array.from(network.getWeights(0))).toEqual([f(0.5 + f(0.1)), f(0.5 + f(0.1)), f(0 - f(0.05)), 0, 0, 1]);
    expect(Array.from(stats.membranes[1])).toEqual([0, 0]); // reset to 0; neuron 1 got nothing
    // Layer 2 sees the spike in the same step: v2 = W2[:,0] = [0.75, 0.5].
    expect(Array.from(stats.membranes[2])).toEqual([0.75, 0.5]);
    expect(Array.from(stats.membranes[3])).toEqual([0]);
    expect(stats.potentiation).toEqual([2, 0, 0]);
    expect(stats.depression).toEqual([1, 0, 0]);
    expect(stats.weightsChanged).toEqual([3, 0, 0]);
  });

  it('step 1: the new weight drives the current; decay without input', async () => {
    const { stats } = await sleep(toy(), new Float32Array(3), opts(2));
    // v1 = 0.5·0 + W1'[0,0] = 0.6 (no spike); v2 = 0.5·[0.75, 0.5]
    expect(Array.from(stats.membranes[1])).toEqual([f(0.5 + f(0.1)), 0]);
    expect(Array.from(stats.membranes[2])).toEqual([0.375, 0.25]);
    expect(stats.spikes).toEqual([3, 1, 0, 0]);
  });

  it('step 2: a spike cascades through every layer in one step and every layer learns', async () => {
    const { network, stats } = await sleep(toy(), new Float32Array(3), opts(3));
    const r = stats.raster!;
    expect(rasterOf(r, 0)).toEqual([[0, 1], [0], [2]]);
    expect(rasterOf(r, 1)).toEqual([[0], [], [1]]);
    expect(rasterOf(r, 2)).toEqual([[], [], [0]]);
    expect(rasterOf(r, 3)).toEqual([[], [], [0]]);
    const six = f(0.5 + f(0.1));
    const neg = f(0 - f(0.05));
    // v1[0] = 0.5·0.6 + W1'[0,2] = 0.3 − 0.05 (no spike); neuron 1: v = 1 → fires.
    expect(stats.membranes[1][0]).toBe(f(f(0.5 * six) + neg));
    expect(stats.membranes[1][1]).toBe(0);
    // W1 row 1 with pre {2}: [0 − 0.05, 0 − 0.05, 1 + 0.1]
    expect(Array.from(network.getWeights(0))).toEqual([six, six, neg, neg, neg, f(1 + f(0.1))]);
    // v2 = 0.5·[0.375, 0.25] + W2[:,1] = [1.0, 0.625] → neuron 0 fires; row 0 with pre {1}
    expect(Array.from(stats.membranes[2])).toEqual([0, 0.625]);
    expect(Array.from(network.getWeights(1))).toEqual([f(0.75 - f(0.05)), f(0.8125 + f(0.1)), 0.5, 0.5]);
    // v3 = W3[0,0] = 1 → fires; W3 row 0 with pre {0}
    expect(Array.from(network.getWeights(2))).toEqual([f(1 + f(0.1)), f(0.5 - f(0.05))]);
    expect(stats.spikes).toEqual([4, 2, 1, 1]);
    expect(stats.potentiation).toEqual([3, 1, 1]);
    expect(stats.depression).toEqual([3, 1, 1]);
    expect(stats.weightsChanged).toEqual([6, 2, 2]);
  });

  it('alpha scales the current and beta the threshold', async () => {
    // alpha_1 = 2·0.25 = 0.5 → I1 = [0.5, 0]; beta_1 = 0.5 → threshold 0.5: fires at step 0.
    const { stats } = await sleep(toy(), new Float32Array(3), opts(1, { alphaScale: 2, scaleFactors: [0.25, 1, 1], beta: [0.5, 10, 10] }));
    expect(stats.spikes).toEqual([2, 1, 0, 0]);
    expect(stats.alpha).toEqual([0.5, 2, 2]);
    const { stats: s2 } = await sleep(toy(), new Float32Array(3), opts(1, { alphaScale: 2, scaleFactors: [0.25, 1, 1], beta: [0.6, 10, 10] }));
    expect(s2.spikes).toEqual([2, 0, 0, 0]);
    expect(s2.membranes[1][0]).toBe(0.5);
  });

  it('release gate: positive weights frozen, non-positive ones move by about 2·inc / 2·dec', async () => {
    const net = new Network({ sizes: [2, 1] });
    net.setWeights(0, Float32Array.from([-0.01, 0.05]));
    const one = { offsets: [0, 1], indices: [1] }; // only input 1 spikes
    // W = [-0.01, 0.05], pre {1}: I = 0.05 → threshold 0.05 → fires.
    const { network } = await sleep(net, new Float32Array(2), {
      steps: 1, replay: one, scaleFactors: [1], alphaScale: 1, beta: [0.05], inc: 0.1, dec: 0.1, stdpGate: 'release',
    });
    const gate = (w: number) => 2 * (1 - 1 / (1 + Math.exp(-w / 0.001)));
    expect(network.getWeights(0)[0]).toBeCloseTo(-0.01 - 0.1 * gate(-0.01), 6); // depressed ≈ −0.21
    expect(network.getWeights(0)[0]).toBeLessThan(-0.2);
    expect(network.getWeights(0)[1]).toBe(f(0.05)); // f(0.05) = 0 in float32: frozen
  });

  it('output drive DC makes the output fire without input; lateral inhibition lowers the current', async () => {
    const net = new Network({ sizes: [1, 2] });
    net.setWeights(0, Float32Array.from([0.5, 0.25]));
    const silent = { offsets: [0, 0, 0, 0], indices: [] as number[] };
    const { stats } = await sleep(net, new Float32Array(1), {
      steps: 3, replay: silent, scaleFactors: [1], alphaScale: 1, beta: [1], decay: 1, dc: 0.5, raster: { from: 0, to: 3 },
    });
    // v = 0.5, 1.0 (fires, reset), 0.5
    expect(rasterOf(stats.raster!, 1)).toEqual([[], [0, 1], []]);
    const input = { offsets: [0, 1], indices: [0] };
    const { stats: s2 } = await sleep(net, new Float32Array(1), {
      steps: 1, replay: input, scaleFactors: [1], alphaScale: 1, beta: [10], inhibition: 1,
    });
    // I = [0.5, 0.25] − 1·mean = [0.125, −0.125]
    expect(Array.from(s2.membranes[1])).toEqual([0.125, -0.125]);
  });
});
