/**
 * Same seed, same result on every CPU path with nrem's own GEMM (NREM_GEMM=native): a fresh
 * process per path (NREM_ISA=generic|avx2|avx512) computes, on real MNIST digits, the
 * forward pass of the authors' 784-1200-1200-10 network and of the PyTorch LeNet fixture,
 * input gradients through both, a short training run of an MLP and of a LeNet CNN, and
 * the sleep of both with the scale factors taken from forward passes (the full
 * mnist-minimal sleep of the 784-1200-1200-10 network), and prints their hashes
 * (test/helpers/isa-bits.ts); every path must print the same hashes. The generic path runs
 * once more with NREM_FMA=software (the exact software fma of a CPU without FMA, ~100×
 * slower) on the MLP training run and a LeNet forward pass of 20 digits alone. A path this CPU cannot run is skipped naming the
 * missing feature (AVX-512 CI machines run it).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runtimeInfo } from '../../src/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const info = runtimeInfo().isa;
const NO = { avx2: 'skipped: this CPU has no AVX2+FMA', avx512: 'skipped: this CPU has no AVX-512' } as const;

// Runs the child (asynchronously: vitest's worker keeps talking to its parent meanwhile).
function hashes(env: Record<string, string>): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/isa-bits.ts'], {
      cwd: ROOT,
      env: { ...process.env, NREM_GEMM: 'native', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`isa-bits child (${JSON.stringify(env)}) exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, string>);
    });
  });
}

function results(h: Record<string, string>) {
  const { path: _, ...rest } = h;
  return rest;
}

describe('every CPU path gives the same bits with the native GEMM', () => {
  let generic: Promise<Record<string, string>> | undefined;
  const base = () => (generic ??= hashes({ NREM_ISA: 'generic' }));

  it('generic: the hardware-FMA build of the generic kernel and the software fma (NREM_FMA=software) agree', async () => {
    const g = await base();
    const hw = ['fma', 'avx', 'os-ymm-state'].every((f) => info.flags.includes(f));
    expect(g.path).toMatch(hw ? /^generic native generic 6x8 \(fma, hardware\)/ : /^generic native generic 6x8 \(fma/);
    expect(Object.keys(results(g))).toHaveLength(9);
    // the sleeps spike and learn ("factors weights spikes/layer potentiations/weight-layer"):
    // the MLP in every layer, the LeNet in its first five layers and two weight layers
    const counts = (key: string, i: number) => g[key].split(' ')[i].split('/').map(Number);
    expect(counts('sleepMlp', 2).every((n) => n > 0), g.sleepMlp).toBe(true);
    expect(counts('sleepMlp', 3).every((n) => n > 0), g.sleepMlp).toBe(true);
    expect(counts('sleepLenet', 2).slice(0, 5).every((n) => n > 0), g.sleepLenet).toBe(true);
    expect(counts('sleepLenet', 3).filter((n) => n > 0).length, g.sleepLenet).toBeGreaterThanOrEqual(2);
    const soft = await hashes({ NREM_ISA: 'generic', NREM_FMA: 'software', ISA_BITS_ONLY: 'trainMlp,forwardLenet20' });
    if (process.arch === 'x64') expect(soft.path).toMatch(/generic 6x8 \(fma, software\)/);
    expect(soft.trainMlp).toBe(g.trainMlp);
    expect(soft.forwardLenet20).toBe(g.forwardLenet20);
  });

  for (const isa of ['avx2', 'avx512'] as const)
    it(`${isa}: the same forward passes, gradients, trained weights, scale factors and sleep as generic`, async (ctx) => {
      ctx.skip(!info.supported.includes(isa), NO[isa]);
      // avx512 with its own 12x32 GEMM kernel, whatever the CPU rule picks (cpu.h)
      const [h, g] = await Promise.all([hashes({ NREM_ISA: isa, ...(isa === 'avx512' ? { NREM_GEMM_KERNEL: 'avx512' } : {}) }), base()]);
      expect(h.path).toMatch(new RegExp(`^${isa} native ${isa} `));
      expect(results(h)).toEqual(results(g));
    });
});
