import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerInspect } from '../src/cli/commands/inspect.js';
import { saveOnnx } from '../src/model/onnx.js';
import { randomNet, torchStyle } from './onnx-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'nrem-inspect-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
  try {
    const program = new Command().exitOverride();
    registerInspect(program);
    await program.parseAsync(['node', 'nrem', 'inspect', ...args]);
  } finally {
    spy.mockRestore();
  }
  return lines;
}

describe('nrem inspect', () => {
  it('--json: sizes, activations, opset, parameter count and the nrem recipe', async () => {
    const path = join(tmp, 'paper.onnx');
    await saveOnnx(randomNet([784, 30, 20, 10], 1, 0.05, { dropout: 0.2 }), path, { recipe: { epochs: 2 } });
    const lines = await run(['--model', path, '--json']);
    const info = JSON.parse(lines[lines.length - 1]);
    expect(info).toMatchObject({ opset: 13, sizes: [784, 30, 20, 10], output: 'relu', hiddenActivation: 'relu', dropout: 0.2, dropoutMode: 'paper', parameters: 784 * 30 + 30 * 20 + 20 * 10, recipe: { epochs: 2 }, nremMetadata: true });
    expect(info.wallSeconds).toBeGreaterThanOrEqual(0);
  });

  it('plain text for a torch.onnx-style file', async () => {
    const path = join(tmp, 'torch.onnx');
    writeFileSync(path, torchStyle([12, 8, 6, 4], 1, [3, 4]).bytes);
    const text = (await run(['--model', path])).join('\n');
    expect(text).toMatch(/sizes\s+12-8-6-4/);
    expect(text).toMatch(/softmax output \(temperature 2\)/);
    expect(text).toMatch(/parameters\s+186\n/); // 12·8+8 + 8·6+6 + 6·4+4
    expect(text).toMatch(/producer\s+pytorch 2.3.0/);
    expect(text).toMatch(/opset\s+17/);
  });
});
