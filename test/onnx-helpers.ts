/** Builds ONNX files by hand in tests, "as torch.onnx writes them". */
import { floatTensor, onnx, type O } from '../src/model/onnx-proto.js';
import { rngUniform } from '../src/util/rng.js';
import { Network } from '../src/model/network.js';

export function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => lo + (hi - lo) * rngUniform(seed, 1, 0, i));
}

/** A network with seeded U(-a, a) weights (and biases when asked). */
export function randomNet(sizes: number[], seed: number, a: number, spec: Partial<ConstructorParameters<typeof Network>[0]> = {}): Network {
  const net = new Network({ sizes, ...spec });
  const params = net.parameters();
  params.weights.forEach((w, l) => w.set(uniform(w.length, seed * 100 + l, -a, a)));
  params.biases.forEach((b, l) => b && b.set(uniform(b.length, seed * 100 + 50 + l, -a, a)));
  net.setParameters(params);
  return net;
}

/** Transposes an out × in row-major matrix into in × out (torch Linear → MatMul weight). */
export function transpose(w: Float32Array, out: number, inn: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) t[i * out + o] = w[o * inn + i];
  return t;
}

export function modelBytes(nodes: O.INodeProto[], inits: O.ITensorProto[], nIn: number, nOut: number, opset = 17, inputShape?: number[]): Uint8Array {
  const vi = (name: string, dims: (number | string)[]): O.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
  const m = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pytorch',
    producerVersion: '2.3.0',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'main_graph',
      node: nodes,
      initializer: inits,
      input: [vi('onnx::Flatten_0', inputShape ?? ['batch', nIn])],
      output: [vi('output', ['batch', nOut])],
    },
  });
  return onnx.ModelProto.encode(m).finish();
}

export { floatTensor };

/**
 * The torch.onnx export of
 *   nn.Sequential(nn.Flatten(), nn.Linear(a, b), nn.ReLU(), nn.Dropout(0.2), nn.Linear(b, c), nn.ReLU(),
 *                 nn.Identity(), nn.Linear(c, d))  then  logits * 0.5 (scaled by a Constant) and softmax
 * with the first two Linear layers as MatMul (weights stored in × out) + Add, the last one as
 * Gemm(transB=1) — the two shapes torch.onnx uses — and input shape [batch, 1, h, w].
 */
export function torchStyle(sizes: [number, number, number, number], seed: number, shape: [number, number]) {
  const [a, b, c, d] = sizes;
  const W = [uniform(b * a, seed, -0.2, 0.2), uniform(c * b, seed + 1, -0.2, 0.2), uniform(d * c, seed + 2, -0.2, 0.2)];
  const B = [uniform(b, seed + 3, -0.1, 0.1), uniform(c, seed + 4, -0.1, 0.1), uniform(d, seed + 5, -0.1, 0.1)];
  const nodes: O.INodeProto[] = [
    { name: '/flatten/Flatten', opType: 'Flatten', input: ['onnx::Flatten_0'], output: ['/flatten/Flatten_output_0'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
    { name: '/0/MatMul', opType: 'MatMul', input: ['/flatten/Flatten_output_0', 'onnx::MatMul_20'], output: ['/0/MatMul_output_0'] },
    { name: '/0/Add', opType: 'Add', input: ['0.bias', '/0/MatMul_output_0'], output: ['/0/Add_output_0'] },
    { name: '/1/Relu', opType: 'Relu', input: ['/0/Add_output_0'], output: ['/1/Relu_output_0'] },
    { name: '/2/Dropout', opType: 'Dropout', input: ['/1/Relu_output_0'], output: ['/2/Dropout_output_0'] },
    { name: '/3/MatMul', opType: 'MatMul', input: ['/2/Dropout_output_0', 'onnx::MatMul_21'], output: ['/3/MatMul_output_0'] },
    { name: '/3/Add', opType: 'Add', input: ['/3/MatMul_output_0', '3.bias'], output: ['/3/Add_output_0'] },
    { name: '/4/Relu', opType: 'Relu', input: ['/3/Add_output_0'], output: ['/4/Relu_output_0'] },
    { name: '/5/Identity', opType: 'Identity', input: ['/4/Relu_output_0'], output: ['/5/Identity_output_0'] },
    { name: '/6/Gemm', opType: 'Gemm', input: ['/5/Identity_output_0', '6.weight', '6.bias'], output: ['/6/Gemm_output_0'], attribute: [{ name: 'alpha', type: 1, f: 1 }, { name: 'beta', type: 1, f: 1 }, { name: 'transB', type: 2, i: 1 }] },
    { name: '/Constant', opType: 'Constant', input: [], output: ['/Constant_output_0'], attribute: [{ name: 'value', type: 4, t: floatTensor('', [], Float32Array.of(0.5)) }] },
    { name: '/Mul', opType: 'Mul', input: ['/6/Gemm_output_0', '/Constant_output_0'], output: ['/Mul_output_0'] },
    { name: '/Softmax', opType: 'Softmax', input: ['/Mul_output_0'], output: ['output'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
  ];
  const inits = [
    floatTensor('0.bias', [b], B[0]),
    floatTensor('onnx::MatMul_20', [a, b], transpose(W[0], b, a)),
    floatTensor('3.bias', [c], B[1]),
    floatTensor('onnx::MatMul_21', [b, c], transpose(W[1], c, b)),
    floatTensor('6.weight', [d, c], W[2]),
    floatTensor('6.bias', [d], B[2]),
  ];
  return { bytes: modelBytes(nodes, inits, a, d, 17, ['batch', 1, ...shape]), W, B };
}

/** Reference forward of the torchStyle model in float64 (dropout off). */
export function torchStyleForward(W: Float32Array[], B: Float32Array[], sizes: number[], x: Float32Array, n: number): Float64Array {
  const out = new Float64Array(n * sizes[3]);
  for (let r = 0; r < n; r++) {
    let h = Array.from(x.subarray(r * sizes[0], (r + 1) * sizes[0]));
    for (let l = 0; l < 3; l++) {
      const z = Array.from({ length: sizes[l + 1] }, (_, o) => {
        let s = B[l][o];
        for (let i = 0; i < sizes[l]; i++) s += W[l][o * sizes[l] + i] * h[i];
        return s;
      });
      h = l < 2 ? z.map((v) => Math.max(0, v)) : z.map((v) => v * 0.5);
    }
    const m = Math.max(...h);
    const e = h.map((v) => Math.exp(v - m));
    const s = e.reduce((p, q) => p + q, 0);
    e.forEach((v, j) => (out[r * sizes[3] + j] = v / s));
  }
  return out;
}
