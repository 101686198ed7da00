import { describe, expect, it } from 'vitest';
import { Network, ShapeError, ValueError, ArgumentError } from '../src/index.js';

function tiny(): Network {
  // 2-3-2 network, known weights, paper dropout 0.5 → hidden scale 0.5.
  const net = new Network({ sizes: [2, 3, 2], output: 'relu', dropout: 0.5 });
  net.setWeights(0, Float32Array.from([1, 0, 0, 1, -1, -1]));
  net.setWeights(1, Float32Array.from([1, 1, 0, 0, 0, 2]));
  return net;
}

describe('Network.forward', () => {
  it('computes the paper network (no bias, scaled hidden, relu out) by hand', async () => {
    const net = tiny();
    const y = await net.forward(new Float32Array([1, 2, -3, 1]));
    // row 1: h = relu([1, 2, -3]) * .5 = [.5, 1, 0]; out = relu([1.5, 0]) = [1.5, 0]
    // row 2: h = relu([-3, 1, 2]) * .5 = [0, .5, 1]; out = relu([.5, 2])
    expect(Array.from(y)).toEqual([1.5, 0, 0.5, 2]);
    expect(Array.from(await net.predict(new Float32Array([1, 2, -3, 1])))).toEqual([0, 1]);
  });

  it('softmax with temperature and biases', async () => {
    const net = new Network({ sizes: [1, 2], output: 'softmax', temperature: 2, biases: true });
    net.setWeights(0, Float32Array.from([1, -1]));
    net.setBias(0, Float32Array.from([0, 1]));
    const y = await net.forward(new Float32Array([1]));
    const z = [1 / 2, 0 / 2];
    const s = Math.exp(z[0]) + Math.exp(z[1]);
    expect(y[0]).toBeCloseTo(Math.exp(z[0]) / s, 6);
    expect(y[1]).toBeCloseTo(Math.exp(z[1]) / s, 6);
  });

  it('gives every layer on request', async () => {
    const acts = await tiny().activations(new Float32Array([1, 2]));
    expect(Array.from(acts[0])).toEqual([0.5, 1, 0]);
    expect(Array.from(acts[1])).toEqual([1.5, 0]);
  });

  it('rejects bad input with typed errors', async () => {
    const net = tiny();
    await expect(net.forward(new Float32Array(3))).rejects.toThrow(ShapeError);
    await expect(net.forward(new Float32Array([1, NaN]))).rejects.toThrow(ValueError);
    await expect(net.forward([1, 2] as unknown as Float32Array)).rejects.toThrow(ArgumentError);
    expect(() => new Network({ sizes: [2, 2], output: 'tanh' as never })).toThrow(ValueError);
    expect(() => new Network({ sizes: [2, 2] }, [new Float32Array(3)])).toThrow(ShapeError);
  });
});
