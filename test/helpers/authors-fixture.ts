/** Reads the golden record of the authors' sleep (test/fixtures/authors-sleep-seed1/README.md). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Network } from '../../src/index.js';

export const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'authors-sleep-seed1');

function buf(name: string): Buffer {
  return readFileSync(join(FIXTURE, name));
}

export interface Manifest {
  steps: number;
  sizes: number[];
  norm_constants: number[];
  alpha: number[];
  spike_counts: number[];
  weights_changed: number[];
  control_test_accuracy: number;
}

export function manifest(): Manifest {
  return JSON.parse(buf('manifest.json').toString('utf8')) as Manifest;
}

function f32(name: string): Float32Array {
  const b = buf(name);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** The control network: 784-1200-1200-10, no biases, relu output, paper dropout 0.2. */
export function controlNetwork(): Network {
  const m = manifest();
  const W = [1, 2, 3].map((l) => f32(`control_W${l}.f32`));
  return new Network({ sizes: m.sizes, output: 'relu', dropout: 0.2, dropoutMode: 'paper' }, W);
}

/** Recorded spikes of layer L (0 = input). */
export function spikes(layer: number): { offsets: Uint32Array; indices: Uint16Array } {
  const o = buf(`spikes_layer${layer}.offsets.u32`);
  const i = buf(`spikes_layer${layer}.indices.u16`);
  return {
    offsets: new Uint32Array(o.buffer.slice(o.byteOffset, o.byteOffset + o.byteLength)),
    indices: new Uint16Array(i.buffer.slice(i.byteOffset, i.byteOffset + i.byteLength)),
  };
}

/** (row, column, new value) records of every weight of matrix M that the sleep changed. */
export function changes(matrix: number): { row: number; col: number; value: number }[] {
  const b = buf(`slept_W${matrix}.changes.u16u16f32`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = [];
  for (let k = 0; k + 8 <= b.byteLength; k += 8)
    out.push({ row: dv.getUint16(k, true), col: dv.getUint16(k + 2, true), value: dv.getFloat32(k + 4, true) });
  return out;
}

/** Pairs "step:neuron" of a spike list. */
export function pairs(offsets: ArrayLike<number>, indices: ArrayLike<number>, from = 0): string[] {
  const out: string[] = [];
  for (let t = 0; t + 1 < offsets.length; t++)
    for (let k = offsets[t]; k < offsets[t + 1]; k++) out.push(`${t + from}:${indices[k]}`);
  return out;
}
