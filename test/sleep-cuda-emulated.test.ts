/**
 * The CUDA sleep of conv/pooling chains, tested without a GPU: the kernel's step
 * (native/cuda/sleep_net.cuh — every per-thread body and the order of the phases, the same
 * source nvcc compiles) built with g++ into test/native-core/sleep_net_host_test.cc, which
 * emulates the thread block in a host loop (items of a phase in ascending, descending or
 * interleaved order) and compares it with the CPU event engine, bit for bit: random CNNs
 * (both poolings, both bias modes, padding, stride 2, convStdp sum|mean, `layers`, every
 * input mode, a batch), a dense chain with bias currents and inhibition, and the LeNet
 * fixture on MNIST digits with the cnn-mnist preset. The harness links the addon's own
 * compiled core (build/Release, made by `npm install`). What it cannot show: that the GPU
 * runs the phases as written (barriers, memory visibility); test/cuda.test.ts does that on a GPU.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnx } from '../src/model/onnx.js';
import { getPreset } from '../src/sleep/presets.js';
import { scaleFactors } from '../src/sleep/normalize.js';

const dir = mkdtempSync(join(tmpdir(), 'nrem-cuda-emu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function objects(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root)) {
    const p = join(root, e);
    if (statSync(p).isDirectory()) out.push(...objects(p));
    else if (e.endsWith('.o')) out.push(p);
  }
  return out;
}

const KIND = { dense: 0, conv: 1, maxpool: 2, avgpool: 3 } as const;

/** The LeNet fixture as the harness reads it (sleep_net_host_test.cc read_lenet). */
async function writeLenet(path: string): Promise<void> {
  const net = await loadOnnx('test/fixtures/onnx/lenet_max.onnx');
  const raw = readFileSync('test/fixtures/onnx/digits100.f32');
  const digits = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const preset = getPreset('cnn-mnist');
  const { factors } = await scaleFactors(net, digits, preset.normalization, { percentile: preset.percentile });
  const { weights, biases } = net.parameters();
  const ints: number[] = [];
  const parts: Float32Array[] = [];
  const flushInts = () => {
    if (ints.length) parts.push(new Float32Array(new Int32Array(ints.splice(0)).buffer));
  };
  const alpha: number[] = [],
    beta: number[] = [];
  ints.push(net.chain.length, ...net.chain[0].in);
  let w = 0,
    b = 0,
    prevOut = net.chain[0].in;
  for (const l of net.chain) {
    const win = l.window ?? [1, 1, 1, 1, 0, 0, 0, 0];
    const weighted = l.kind === 'dense' || l.kind === 'conv';
    const hasBias = weighted && biases[w] !== null && biases[w] !== undefined;
    ints.push(KIND[l.kind], ...(l.kind === 'dense' ? prevOut : l.in), ...l.out, ...win, l.countIncludePad ? 1 : 0, hasBias ? 1 : 0);
    flushInts();
    if (weighted) {
      parts.push(weights[w]);
      if (hasBias) parts.push(biases[w]!);
      alpha.push(factors[w]);
      beta.push(preset.beta[b++]);
      w++;
    } else {
      alpha.push(1);
      beta.push(l.kind === 'maxpool' ? 1 : preset.beta[b++]);
    }
    prevOut = l.out;
  }
  parts.push(new Float32Array([...alpha, ...beta, preset.maxRate, preset.inc, preset.dec]));
  ints.push(100);
  flushInts();
  parts.push(digits);
  writeFileSync(path, Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

describe('CUDA sleep of conv and pooling chains, its step emulated on the host', () => {
  it('equals the CPU event engine bit for bit (random CNNs, dense chains, LeNet on MNIST digits)', async () => {
    const core = 'build/Release/obj.target/nrem/native/core';
    expect(existsSync(core), `${core} (the addon's compiled core, made by npm install)`).toBe(true);
    const exe = join(dir, 'sleep_net_host_test');
    const cxx = process.env.CXX ?? 'c++';
    execFileSync(
      cxx,
      ['-std=c++17', '-O2', '-ffp-contract=off', '-fno-math-errno', '-pthread', 'test/native-core/sleep_net_host_test.cc', ...objects(core), '-lopenblas', '-o', exe],
      { stdio: 'pipe' },
    );
    const lenet = join(dir, 'lenet.bin');
    await writeLenet(lenet);
    let out: string;
    try {
      out = execFileSync(exe, [lenet], { encoding: 'utf8' });
    } catch (e) {
      throw new Error(`host emulation failed:\n${(e as { stdout?: string }).stdout ?? e}`);
    }
    const lines = out.trim().split('\n');
    for (const l of lines.slice(0, -1)) expect(l, l).toMatch(/: equal \(/);
    expect(out).toMatch(/^case exact_expf = libm expf: equal/m);
    expect(out).toMatch(/^case LeNet fixture, cnn-mnist preset.*: equal/m);
    expect(out).toMatch(/^case LeNet fixture, lower betas, bias current, convStdp mean.*: equal/m);
    expect(out).toMatch(/^case LeNet fixture, lower betas, layers: dense only, output drive.*: equal/m);
    expect(out).toMatch(/^case avg-pool count_include_pad, pad 1, stride 2, bias current, convStdp mean.*: equal/m);
    expect(lines[lines.length - 1]).toMatch(/^ok 23 cases$/);
  }, 180_000);
});
