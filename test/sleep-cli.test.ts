/**
 * `nrem sleep` on a CNN (the PyTorch LeNet fixture): the sleep-general flags reach the
 * sleep and the JSON names the layers, betas and modes that ran; bad flag values are
 * typed errors that name the flag or the network's layers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerSleep } from '../src/cli/commands/sleep.js';
import { ArgumentError, ValueError, loadOnnx } from '../src/index.js';

const LENET = join(__dirname, 'fixtures/onnx/lenet_max.onnx');
const out = join(mkdtempSync(join(tmpdir(), 'nrem-sleep-cli-')), 'slept.onnx');

async function run(args: string[]): Promise<Record<string, unknown>> {
  const program = new Command().exitOverride();
  registerSleep(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
  try {
    await program.parseAsync(['node', 'nrem', 'sleep', '--model', LENET, '--quick', '--out', out, '--json', ...args]);
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(lines[lines.length - 1]);
}

describe('nrem sleep on a CNN', () => {
  it('takes --beta, --bias, --conv-stdp and --layers, and reports what ran in every spiking layer', async () => {
    const r = await run(['--beta', '2,2,2,2', '--bias', 'current', '--conv-stdp', 'mean', '--layers', '0,2,4', '--steps', '3000']);
    expect(r.layers).toEqual(['conv', 'maxpool', 'conv', 'maxpool', 'dense', 'dense']);
    expect(r.beta).toEqual([2, 2, 2, 2]);
    expect(r.bias).toBe('current');
    expect(r.convStdp).toBe('mean');
    expect(r.plasticLayers).toEqual([0, 2, 4]);
    expect(r.steps).toBe(3000);
    const spikes = r.spikes as number[];
    expect(spikes).toHaveLength(7);
    // the layer not made plastic (the output dense layer, chain index 5) keeps its weights
    const changed = r.weightsChanged as number[];
    expect(changed[5]).toBe(0);
    expect(changed[0]).toBeGreaterThan(0);
    const slept = await loadOnnx(out);
    const orig = await loadOnnx(LENET);
    expect(slept.getWeights(3)).toEqual(orig.getWeights(3));
    expect(slept.getWeights(0)).not.toEqual(orig.getWeights(0));
  }, 120_000);
  it('refuses flag values that do not fit, naming the flag or the layers', async () => {
    await expect(run(['--bias', 'add'])).rejects.toThrow(ValueError);
    await expect(run(['--bias', 'add'])).rejects.toThrow(/--bias: expected one of ignore, current but received "add"/);
    await expect(run(['--conv-stdp', 'max'])).rejects.toThrow(/--conv-stdp: expected one of sum, mean/);
    const e = await run(['--beta', '2,2,2,2', '--layers', '1']).catch((x) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/layers\[0\] = 1 names a maxpool layer.*0 conv 16×24×24, 1 maxpool 16×12×12/);
    const b = await run(['--beta', '2,2']).catch((x) => x);
    expect(b).toBeInstanceOf(ArgumentError);
    expect(b.message).toMatch(/Expected 4 values for beta .* received 2/);
    const p = await run([]).catch((x) => x);
    expect(p).toBeInstanceOf(ArgumentError);
    expect(p.message).toMatch(/mnist-fgsm preset's beta has 3 values .* this network has 4/);
  }, 60_000);
});
