import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, Network, UnsupportedError } from '../src/index.js';
import { fromOnnxBytes, importOnnx, loadOnnx, saveOnnx, toOnnxBytes } from '../src/model/onnx.js';
import { onnx } from '../src/model/onnx-proto.js';
import { floatTensor, modelBytes, randomNet, torchStyle, torchStyleForward, transpose, uniform } from './onnx-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'nrem-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('ONNX export', () => {
  it('writes opset 13 Gemm(transB=1)/Relu/Mul(hidden scale)/Relu with nrem metadata', () => {
    const net = randomNet([6, 5, 4, 3], 1, 0.5, { dropout: 0.2 });
    const m = onnx.ModelProto.decode(toOnnxBytes(net, { recipe: { epochs: 2, seed: 1 } }));
    expect(Number(m.opsetImport[0].version)).toBe(13);
    expect(m.graph!.node.map((n) => n.opType)).toEqual(['Gemm', 'Relu', 'Mul', 'Gemm', 'Relu', 'Mul', 'Gemm', 'Relu']);
    expect(m.graph!.input[0].name).toBe('input');
    expect(m.graph!.input[0].type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 6]);
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(meta['nrem.sizes']).toBe('[6,5,4,3]');
    expect(meta['nrem.dropoutMode']).toBe('paper');
    expect(JSON.parse(meta['nrem.recipe'])).toEqual({ epochs: 2, seed: 1 });
    const w1 = m.graph!.initializer.find((t) => t.name === 'W1')!;
    expect(w1.dims.map(Number)).toEqual([5, 6]);
  });

  it('round trip restores the exact Network (paper dropout, relu out) bit for bit', async () => {
    const net = randomNet([784, 40, 30, 10], 2, 0.05, { dropout: 0.2, output: 'relu' });
    const back = fromOnnxBytes(toOnnxBytes(net));
    expect(back.spec()).toEqual(net.spec());
    net.parameters().weights.forEach((w, l) => expect(sameBits(back.getWeights(l), w)).toBe(true));
    const x = uniform(784 * 8, 9, 0, 1);
    expect(sameBits(await back.forward(x), await net.forward(x))).toBe(true);
  });

  it('round trip with biases, softmax + temperature, inverted dropout and linear output', async () => {
    for (const spec of [
      { output: "softmax" as const, temperature: 2.5, biases: true, dropout: 0.3, dropoutMode: 'inverted' as const },
      { output: 'linear' as const, biases: true },
      { output: 'softmax' as const },
    ]) {
      const net = randomNet([7, 9, 4], 3, 0.4, spec);
      const path = join(tmp, `net-${spec.output}.onnx`);
      await saveOnnx(net, path);
      const back = await loadOnnx(path);
      expect(back.spec()).toEqual(net.spec());
      net.parameters().biases.forEach((b, l) => {
        expect(b === null).toBe(spec.biases !== true);
        if (b) expect(sameBits(back.getBias(l), b)).toBe(true);
        else expect(back.getBias(l)).toBeNull();
      });
      const x = uniform(7 * 5, 4, -1, 1);
      expect(sameBits(await back.forward(x), await net.forward(x))).toBe(true);
    }
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]); // atomic write leaves no temp file
  });

  it('a failed save leaves no file behind', async () => {
    const path = join(tmp, 'no-such-dir', 'x.onnx');
    await expect(saveOnnx(randomNet([2, 2], 1, 1), path)).rejects.toThrow();
    expect(existsSync(path)).toBe(false);
  });
});

describe('ONNX import of other tools\' MLPs', () => {
  it('torch.onnx-style Flatten, MatMul+Add (in×out), Dropout, Identity, Gemm, Constant Mul, Softmax', async () => {
    const sizes: [number, number, number, number] = [12, 8, 6, 4];
    const { bytes, W, B } = torchStyle(sizes, 11, [3, 4]);
    const imp = importOnnx(bytes, 'torch.onnx');
    const net = imp.net;
    expect(net.sizes).toEqual(sizes);
    expect(net.output).toBe('softmax');
    expect(net.temperature).toBe(2); // logits · 0.5 = logits / 2
    expect(net.dropout).toBe(0);
    expect(imp.producer).toBe('pytorch 2.3.0');
    expect(imp.operators).toMatchObject({ MatMul: 2, Add: 2, Gemm: 1, Dropout: 1, Constant: 1 });
    expect(sameBits(net.getWeights(0), W[0])).toBe(true); // transposed back to out × in exactly
    const x = uniform(12 * 6, 2, 0, 1);
    const want = torchStyleForward(W, B, sizes, x, 6);
    const got = await net.forward(x);
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
  });

  it('folds a scalar Mul after a hidden Relu into the next layer (no nrem metadata)', async () => {
    const w1 = uniform(15, 1, -1, 1);
    const w2 = uniform(10, 2, -1, 1);
    const bytes = modelBytes(
      [
        { name: 'g1', opType: 'Gemm', input: ['onnx::Flatten_0', 'w1'], output: ['a'], attribute: [{ name: 'transB', type: 2, i: 0 }] },
        { name: 'r1', opType: 'Relu', input: ['a'], output: ['b'] },
        { name: 'm1', opType: 'Mul', input: ['s', 'b'], output: ['c'] },
        { name: 'g2', opType: 'Gemm', input: ['c', 'w2'], output: ['d'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
        { name: 'div', opType: 'Div', input: ['d', 'four'], output: ['output'] },
      ],
      [floatTensor('w1', [3, 5], transpose(w1, 5, 3)), floatTensor('w2', [2, 5], w2), floatTensor('s', [1], Float32Array.of(0.8)), floatTensor('four', [], Float32Array.of(4))],
      3,
      2,
    );
    const net = fromOnnxBytes(bytes);
    expect(net.sizes).toEqual([3, 5, 2]);
    expect(net.output).toBe('linear');
    const ref = new Network({ sizes: [3, 5, 2], output: 'linear', dropout: 0.2 }, [w1, w2.map((v) => v / 4)]);
    const x = uniform(3 * 4, 3, -1, 1);
    const [a, b] = [await net.forward(x), await ref.forward(x)];
    a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(1e-6));
  });

  it('unsupported operators, broken files and lying metadata are typed errors', () => {
    const leaky = modelBytes(
      [
        { name: '/fc1/Gemm', opType: 'Gemm', input: ['onnx::Flatten_0', 'w'], output: ['z'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
        { name: '/act/LeakyRelu', opType: 'LeakyRelu', input: ['z'], output: ['output'] },
      ],
      [floatTensor('w', [1, 9], new Float32Array(9))],
      9,
      1,
    );
    expect(() => fromOnnxBytes(leaky, 'leaky.onnx')).toThrow(UnsupportedError);
    expect(() => fromOnnxBytes(leaky, 'leaky.onnx')).toThrow(/operator LeakyRelu \(node "\/act\/LeakyRelu"\) is not supported: nrem sleeps ReLU networks/);
    const good = toOnnxBytes(randomNet([4, 3, 2], 1, 1, { dropout: 0.5 }));
    expect(() => fromOnnxBytes(good.subarray(0, good.length - 30))).toThrow(FormatError);
    expect(() => fromOnnxBytes(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(FormatError);
    const m = onnx.ModelProto.decode(good);
    m.metadataProps.find((p) => p.key === 'nrem.dropout')!.value = '0.1'; // graph scales by 0.5
    expect(() => fromOnnxBytes(onnx.ModelProto.encode(m).finish())).toThrow(/metadata disagree/);
    const branchy = modelBytes(
      [
        { name: 'g1', opType: 'Gemm', input: ['onnx::Flatten_0', 'w'], output: ['a'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
        { name: 'skip', opType: 'Add', input: ['a', 'onnx::Flatten_0'], output: ['output'] },
      ],
      [floatTensor('w', [2, 2], new Float32Array(4))],
      2,
      2,
    );
    expect(() => fromOnnxBytes(branchy)).toThrow(UnsupportedError);
  });
});
