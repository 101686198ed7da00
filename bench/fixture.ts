/** The golden fixture's trained control network, shared by the benchmark suites. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Network } from '../src/model/network.js';

export function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'test', 'fixtures', 'authors-sleep-seed1');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error('bench: test/fixtures/authors-sleep-seed1 not found');
}

export function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** 784-1200-1200-10, no biases, ReLU output, paper dropout 0.2 (the authors' control, seed 1). */
export function controlNet(dir = fixtureDir()): Network {
  return new Network(
    { sizes: [784, 1200, 1200, 10], output: 'relu', dropout: 0.2, dropoutMode: 'paper' },
    [1, 2, 3].map((l) => f32(join(dir, `control_W${l}.f32`))),
  );
}
