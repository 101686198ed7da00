import { expect } from 'vitest';
import type { SleepResult } from '../../src/index.js';

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * A GPU sleep equals the CPU event engine's bit for bit: spikes (every counter and per-neuron
 * count), STDP counts, changed weights, weights, membranes and the rate trace.
 */
export function expectSameGpuSleep(gpu: SleepResult, cpu: SleepResult): void {
  expect(gpu.stats.backend).toBe('cuda');
  expect(cpu.stats.backend).toBe('cpu');
  expect(gpu.stats.spikes).toEqual(cpu.stats.spikes);
  expect(gpu.stats.potentiation).toEqual(cpu.stats.potentiation);
  expect(gpu.stats.depression).toEqual(cpu.stats.depression);
  expect(gpu.stats.weightsChanged).toEqual(cpu.stats.weightsChanged);
  for (let l = 0; l < cpu.stats.neuronSpikes.length; l++)
    expect(Array.from(gpu.stats.neuronSpikes[l]), `spikes of layer ${l}`).toEqual(Array.from(cpu.stats.neuronSpikes[l]));
  for (let k = 0; k < cpu.network.weightLayers; k++) expect(sameBits(gpu.network.getWeights(k), cpu.network.getWeights(k)), `weights ${k}`).toBe(true);
  for (let l = 1; l < cpu.stats.membranes.length; l++) expect(sameBits(gpu.stats.membranes[l], cpu.stats.membranes[l]), `membranes ${l}`).toBe(true);
  expect(sameBits(gpu.stats.rateTrace.rates, cpu.stats.rateTrace.rates), 'rate trace').toBe(true);
}
