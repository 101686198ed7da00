import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Network } from '../../src/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'authors-sleep-seed1');

function f32(name: string): Float32Array {
  const b = readFileSync(join(dir, name));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** The authors' trained control network (seed 1): 784-1200-1200-10, no biases, ReLU output, paper dropout 0.2. */
export function controlNetwork(): Network {
  return new Network({ sizes: [784, 1200, 1200, 10], output: 'relu', dropout: 0.2, dropoutMode: 'paper' }, [
    f32('control_W1.f32'),
    f32('control_W2.f32'),
    f32('control_W3.f32'),
  ]);
}
