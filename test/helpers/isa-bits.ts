/**
 * Child process of test/native-kernels/isa-bits.test.ts (node --import tsx, with NREM_ISA,
 * NREM_GEMM=native and maybe NREM_FMA=software in its environment): runs forward, backward,
 * training and sleep work of nrem on real MNIST digits and prints one JSON object of
 * SHA-256 hashes (16 hex digits) of every result, plus the path and GEMM kernel used.
 * ISA_BITS_ONLY=name,... runs only those steps (the software fma is slow).
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createNetwork, head, inputGradient, loadMnist, loadOnnx, parseArch, recipeOptions, runtimeInfo, sleep, train, type Architecture, type Network } from '../../src/index.js';
import { controlNetwork } from './authors-fixture.js';

const hash = (...arrays: ArrayBufferView[]) => {
  const h = createHash('sha256');
  for (const a of arrays) h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 16);
};
const weights = (net: Network) => hash(...net.parameters().weights);

const { train: tr } = loadMnist();
const x = head(tr, 300);
const lenetPath = fileURLToPath(new URL('../fixtures/onnx/lenet_max.onnx', import.meta.url));
const mlp = controlNetwork(); // the authors' 784-1200-1200-10
const lenet = await loadOnnx(lenetPath); // the PyTorch LeNet fixture

const steps: Record<string, () => Promise<string>> = {
  // forward passes
  forwardMlp: async () => hash(await mlp.forward(x.x)),
  forwardLenet: async () => hash(await lenet.forward(x.x)),
  forwardLenet20: async () => hash(await lenet.forward(x.x.subarray(0, 20 * 784))),
  // backward (an attack's input gradient: loss reductions, dense and conv backward)
  gradLenet: async () => {
    const g = await inputGradient(lenet, x.x.subarray(0, 100 * 784), x.y.subarray(0, 100), 'ce');
    return hash(g.grad, g.loss);
  },
  gradMlp: async () => {
    const g = await inputGradient(mlp, x.x.subarray(0, 100 * 784), x.y.subarray(0, 100), 'mse');
    return hash(g.grad, g.loss);
  },
  // short training runs: an MLP (paper recipe: SGD, dropout) and a LeNet CNN (modern recipe)
  trainMlp: async () => {
    const net = createNetwork('paper', [784, 64, 10], 3);
    await train(net, head(tr, 600), { ...recipeOptions('paper', 3), epochs: 1, batchSize: 50 });
    return weights(net);
  },
  trainCnn: async () => {
    const net = createNetwork('modern', { input: [1, 28, 28], layers: (parseArch('lenet') as Architecture).layers }, 4);
    await train(net, head(tr, 200), { ...recipeOptions('modern', 4), epochs: 1, batchSize: 50 });
    return weights(net);
  },
  // sleep with the scale factors computed here from forward passes: the full mnist-minimal
  // sleep (3,365 steps; it spikes and learns in every layer with these factors) of the
  // 784-1200-1200-10 network, and a short one of the LeNet fixture
  // ("factors weights spikes/layer potentiations/weight-layer")
  sleepMlp: async () => {
    const s = await sleep(mlp, x.x, { preset: 'mnist-minimal', seed: 1 });
    return `${hash(new Float64Array(s.stats.scaleFactors))} ${weights(s.network)} ${s.stats.spikes.join('/')} ${s.stats.potentiation.join('/')}`;
  },
  sleepLenet: async () => {
    const s = await sleep(lenet, x.x, { preset: 'mnist-fgsm', seed: 2, steps: 500, maxRate: 120, beta: [0.5, 0.5, 0.5, 0.5], alphaScale: 2 });
    return `${hash(new Float64Array(s.stats.scaleFactors))} ${weights(s.network)} ${s.stats.spikes.join('/')} ${s.stats.potentiation.join('/')}`;
  },
};

const only = process.env.ISA_BITS_ONLY?.split(',').filter(Boolean);
const info = runtimeInfo();
const out: Record<string, string> = { path: `${info.isa.name} ${info.gemm} ${info.isa.gemmKernel}` };
for (const [name, step] of Object.entries(steps)) if (!only || only.includes(name)) out[name] = await step();
console.log(JSON.stringify(out));
