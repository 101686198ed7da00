/**
 * Real torch.onnx.export files (test/fixtures/onnx, made by scripts/make-onnx-fixtures.py
 * with PyTorch 1.13): import, native forward and ONNX Runtime against PyTorch's outputs,
 * graph-keeping export, round trips, PyTorch's gradients and attack figures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FGSM, OrtModel, PGD, evaluate, fgsmSweep, importOnnx, loadDataset, loadOnnx, loadOnnxImport, toOnnxBytes, type Network } from '../src/index.js';
import { addon } from '../src/native/binding.js';
import { decodeModel } from '../src/model/onnx.js';
import { checkInputRange } from '../src/model/input-range.js';

const DIR = join(import.meta.dirname, 'fixtures', 'onnx');
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as {
  models: Record<string, { file: string; accuracy10k: number; accuracy10kRaw?: number; inputs?: string; note: string; attacks?: { fgsm_ce: Record<string, number>; pgd10: Record<string, number> }; gradients?: { x: string; parameters: string[] } }>;
};
const f32 = (name: string) => {
  const b = readFileSync(join(DIR, name));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const digits = f32('digits100.f32');
const names = Object.keys(manifest.models);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('real torch.onnx.export files', () => {
  it('the fixtures cover the networks users bring', () => {
    for (const n of ['mlp_bias', 'mlp_softmax', 'mlp_view', 'mlp_dynamic', 'lenet_max', 'lenet_avg', 'lenet_bn', 'lenet_bn_fused', 'cnn_norm', 'lenet_opset9', 'lenet_opset17', 'lenet_f16', 'lenet_f64', 'lenet_external'])
      expect(names).toContain(n);
  });

  for (const name of names) {
    const m = manifest.models[name];
    it(`${name} (${m.note}): native forward and ONNX Runtime match PyTorch within 1e-4, bit-exact round trip, same graph`, async () => {
      const path = join(DIR, m.file);
      const imp = await loadOnnxImport(path);
      const net = imp.net;
      const expected = f32(`${name}.expected.f32`);
      // mlp_outside_norm was trained (and its outputs taken) on (x − 0.1307) / 0.3081
      const input = m.inputs ? Float32Array.from(digits, (v) => (v - 0.1307) / 0.3081) : digits;
      const y = await net.forward(input);
      expect(maxDiff(y, expected)).toBeLessThan(1e-4);
      const ort = await OrtModel.fromFile(path);
      try {
        expect(maxDiff(await ort.run(input), expected)).toBeLessThan(1e-4);
      } finally {
        ort.dispose();
      }
      // Export writes the same graph back with the parameters replaced.
      const bytes = toOnnxBytes(net);
      const original = decodeModel(readFileSync(path), path);
      const written = decodeModel(bytes, 'exported');
      expect(written.graph!.node!.map((n) => `${n.name}:${n.opType}`)).toEqual(original.graph!.node!.map((n) => `${n.name}:${n.opType}`));
      expect(written.opsetImport).toEqual(original.opsetImport);
      expect(JSON.stringify(written.graph!.input)).toBe(JSON.stringify(original.graph!.input));
      expect(JSON.stringify(written.graph!.output)).toBe(JSON.stringify(original.graph!.output));
      // import → export → import: the same outputs bit for bit
      const again = importOnnx(bytes, 'again.onnx').net;
      expect(bits(await again.forward(input)).equals(bits(y))).toBe(true);
      const ort2 = await OrtModel.fromBytes(bytes, 'exported');
      try {
        expect(maxDiff(await ort2.run(input), expected)).toBeLessThan(1e-4);
      } finally {
        ort2.dispose();
      }
      if (imp.foldedBatchNorm.length) {
        const meta = Object.fromEntries(written.metadataProps!.map((p) => [p.key, p.value]));
        expect(JSON.parse(meta['nrem.folded_batchnorm']!)).toEqual(imp.foldedBatchNorm);
      }
    });
  }

  it('BatchNorm is folded into the Conv (with and without its bias) and the Gemm before it, and written back as the identity', async () => {
    const imp = await loadOnnxImport(join(DIR, manifest.models.lenet_bn.file));
    expect(imp.foldedBatchNorm.length).toBe(3);
    expect(imp.net.chain.filter((l) => l.kind === 'conv' || l.kind === 'dense').map((l) => l.bias)).toEqual([true, true, true, true]);
    const g = decodeModel(toOnnxBytes(imp.net), 'x');
    const bn = g.graph!.node!.filter((n) => n.opType === 'BatchNormalization');
    expect(bn.length).toBe(3);
    const init = new Map(g.graph!.initializer!.map((t) => [t.name, t]));
    const vals = (name: string) => new Float32Array(Uint8Array.from(init.get(name)!.rawData!).buffer);
    for (const n of bn) {
      expect([...vals(n.input![1])].every((v) => v === 1)).toBe(true); // scale
      expect([...vals(n.input![3])].every((v) => v === 0)).toBe(true); // mean
    }
  });

  it('says when a model expects inputs normalised outside it (mlp_outside_norm), and not for one that does not', async () => {
    const { test } = await loadDataset('mnist');
    const outside = await loadOnnx(join(DIR, manifest.models.mlp_outside_norm.file));
    const check = await checkInputRange(outside, test);
    expect(check.accuracy).toBeLessThan(check.standardizedAccuracy - 0.02);
    expect(check.warnings[0]).toMatch(/probably trained on inputs normalised outside the model/);
    const ok = await checkInputRange(await loadOnnx(join(DIR, manifest.models.mlp_bias.file)), test);
    expect(ok.warnings).toEqual([]);
  });

  it('keeps a dynamic batch axis and the PyTorch input shape [batch, 1, 28, 28]', async () => {
    const imp = await loadOnnxImport(join(DIR, manifest.models.lenet_opset17.file));
    expect(imp.input.dims).toEqual(['batch', 1, 28, 28]);
    expect(imp.net.inputShape).toEqual([1, 28, 28]);
    const written = importOnnx(toOnnxBytes(imp.net), 'x.onnx');
    expect(written.input.dims).toEqual(['batch', 1, 28, 28]);
    expect(written.output.dims).toEqual(['batch', 10]);
  });

  it('lenet_max: gradients of the cross-entropy equal PyTorch\'s (input and every parameter)', async () => {
    const net = await loadOnnx(join(DIR, manifest.models.lenet_max.file));
    const g = manifest.models.lenet_max.gradients!;
    const { test } = await loadDataset('mnist');
    const x = test.x.subarray(0, 16 * 784);
    const targets = new Float32Array(16 * 10);
    for (let r = 0; r < 16; r++) targets[r * 10 + test.y[r]] = 1;
    const p = net.parameters();
    const gx = new Float32Array(x.length);
    const gw = p.weights.map((w) => new Float32Array(w.length));
    const gb = p.biases.map((b) => new Float32Array(b!.length));
    await addon().gradients(net.native(), x, 16, targets, { loss: 'cross-entropy', reduction: 'mean' }, { x: gx, weights: gw, biases: gb });
    const rel = (a: Float32Array, b: Float32Array) => maxDiff(a, b) / Math.max(...Array.from(b, Math.abs));
    expect(rel(gx, f32(g.x))).toBeLessThan(1e-4);
    gw.forEach((w, k) => {
      expect(rel(w, f32(g.parameters[2 * k])), `weights ${k}`).toBeLessThan(1e-4);
      expect(rel(gb[k], f32(g.parameters[2 * k + 1])), `bias ${k}`).toBeLessThan(1e-4);
    });
  });

  it('lenet_max: FGSM (cross-entropy) and PGD-10 on the 10,000 test digits equal PyTorch within 0.3 points', async () => {
    const net: Network = await loadOnnx(join(DIR, manifest.models.lenet_max.file));
    const ref = manifest.models.lenet_max.attacks!;
    const { test } = await loadDataset('mnist');
    expect(Math.abs((await evaluate(net, test)).accuracy - manifest.models.lenet_max.accuracy10k)).toBeLessThan(0.0005);
    const eps = Object.keys(ref.fgsm_ce).map(Number);
    const sweep = await fgsmSweep(net, test.x, test.y, { loss: 'ce', epsilons: eps });
    eps.forEach((e, i) => expect(Math.abs(sweep.accuracy[i] - ref.fgsm_ce[String(e)]), `FGSM eps ${e}`).toBeLessThan(0.003));
    const fgsm = await new FGSM({ loss: 'ce' }).run(net, test.x.subarray(0, 500 * 784), test.y.subarray(0, 500), { epsilons: [0.1] });
    // the attack class and the sweep agree on the same rows
    const viaSweep = sweep.correct[eps.indexOf(0.1)].subarray(0, 500).reduce((s, v) => s + v, 0);
    expect(fgsm.success[0].reduce((s, v) => s + (1 - v), 0)).toBe(viaSweep);
    const e = Number(Object.keys(ref.pgd10)[0]);
    const pgd = await new PGD({ steps: 10, relStep: 0.25, randomStart: false, earlyStop: false }).run(net, test.x, test.y, { epsilons: [e] });
    const acc = 1 - pgd.success[0].reduce((s, v) => s + v, 0) / test.n;
    expect(Math.abs(acc - ref.pgd10[String(e)])).toBeLessThan(0.003);
  }, 600_000); // 10,000 digits × 14 gradient passes: 20–110 s on 2 cores, depending on the load
});
