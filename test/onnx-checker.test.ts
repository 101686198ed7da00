/**
 * Every file nrem writes passes onnx.checker.check_model (the ONNX reference checker, from
 * Debian's python3-onnx), and ONNX Runtime runs it: nrem's own graphs (MLP, CNN with input
 * normalisation) and imported PyTorch graphs written back.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Network, createNetwork, loadOnnx, parseArch, saveOnnx, type Architecture } from '../src/index.js';

const checker = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'nrem-checker-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('onnx.checker accepts what nrem writes', () => {
  it.runIf(checker)('nrem graphs and written-back PyTorch graphs (full check, shape inference included)', async () => {
    const files: string[] = [];
    const save = async (name: string, net: Network) => {
      const p = join(tmp, name + '.onnx');
      await saveOnnx(net, p, { recipe: { test: true } });
      files.push(p);
    };
    await save('mlp', createNetwork('paper', [784, 30, 10], 1));
    await save('mlp_softmax', createNetwork('modern', [784, 20, 10], 1));
    const arch = { input: [1, 28, 28], layers: (parseArch('conv:4x5p2,pool:max2,conv:8x3s2,pool:avg2,dense:16,10') as Architecture).layers } as Architecture;
    const cnn = createNetwork('modern', { ...arch, inputOps: [{ op: 'sub', value: 0.13 }, { op: 'div', value: 0.31 }] }, 1);
    await save('cnn', cnn);
    const fixtures = join(import.meta.dirname, 'fixtures', 'onnx');
    for (const f of readdirSync(fixtures).filter((f) => f.endsWith('.onnx'))) await save(`back_${f.replace('.onnx', '')}`, await loadOnnx(join(fixtures, f)));
    const script = 'import sys, onnx\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), full_check=True)\nprint(len(sys.argv) - 1)';
    writeFileSync(join(tmp, 'check.py'), script);
    const r = spawnSync('/usr/bin/python3', [join(tmp, 'check.py'), ...files], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(String(files.length));
  }, 60_000);
});
