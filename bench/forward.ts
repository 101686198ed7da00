/**
 * Batched forward pass of 784-1200-1200-10 on the 10,000 MNIST test digits: the native
 * core against ONNX Runtime (CPU) on the exported model, in the same run.
 */
import { loadMnist } from '../src/data/mnist.js';
import { OrtModel } from '../src/model/ort.js';
import type { BenchRow } from './types.js';
import { controlNet } from './fixture.js';

async function best(reps: number, fn: () => Promise<unknown>): Promise<number> {
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

export async function benchForward(): Promise<BenchRow[]> {
  const net = controlNet();
  const { test } = loadMnist();
  const flops = 2 * test.n * net.parameters().weights.reduce((s, w) => s + w.length, 0);
  const native = await best(3, () => net.forward(test.x));
  const ort = await OrtModel.fromNetwork(net);
  try {
    await ort.run(test.x, test.n); // warm-up
    const t = await best(3, () => ort.run(test.x, test.n));
    return [
      { suite: 'forward', name: 'native forward, 10,000 digits', seconds: native, ratio: t / native, versus: 'speed-up vs ONNX Runtime CPU (its time / ours)', figures: { gflops: flops / native / 1e9 } },
      { suite: 'forward', name: 'ONNX Runtime forward, 10,000 digits', seconds: t, figures: { gflops: flops / t / 1e9 } },
    ];
  } finally {
    await ort.dispose();
  }
}
