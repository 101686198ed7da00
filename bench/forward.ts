/**
 * Batched forward pass of 784-1200-1200-10 on the 10,000 MNIST test digits: the native
 * core with OpenBLAS (when built in) and with nrem's own GEMM on every CPU path this
 * machine runs (bench/paths.ts), against ONNX Runtime (CPU) on the exported model, in the
 * same run. Ratios: ONNX Runtime time / ours, and own GEMM time / OpenBLAS time.
 */
import { loadMnist } from '../src/data/mnist.js';
import { OrtModel } from '../src/model/ort.js';
import { runtimeInfo, setGemm } from '../src/native/runtime.js';
import type { BenchRow } from './types.js';
import { controlNet } from './fixture.js';
import { benchIsas, onEachPath, pathLabel } from './paths.js';
import { best } from './timing.js';


export async function benchForward(): Promise<BenchRow[]> {
  const net = controlNet();
  const { test } = loadMnist();
  const flops = 2 * test.n * net.parameters().weights.reduce((s, w) => s + w.length, 0);
  const info = runtimeInfo();
  const gemm = info.gemm;
  const rows: BenchRow[] = [];
  const ort = await OrtModel.fromNetwork(net);
  try {
    await ort.run(test.x, test.n); // warm-up
    const t = await best(3, () => ort.run(test.x, test.n));
    let blas: number | undefined;
    if (info.openblas) {
      setGemm('openblas');
      blas = await best(3, () => net.forward(test.x));
      rows.push({ suite: 'forward', name: 'native forward, 10,000 digits (OpenBLAS)', seconds: blas, ratio: t / blas, versus: 'speed-up vs ONNX Runtime CPU (its time / ours)', figures: { gflops: flops / blas / 1e9 }, notes: `${info.isa.cpu}, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? 'auto'}` });
    }
    setGemm('native');
    await onEachPath(benchIsas(), async (isa) => {
      const s = await best(3, () => net.forward(test.x));
      rows.push({
        suite: 'forward',
        name: `native forward, 10,000 digits (own GEMM, ${isa})`,
        seconds: s,
        ...(blas !== undefined ? { ratio: s / blas, versus: 'own GEMM time / OpenBLAS time (target <= 1.25)' } : { ratio: t / s, versus: 'speed-up vs ONNX Runtime CPU (its time / ours)' }),
        figures: { gflops: flops / s / 1e9 },
        notes: `${pathLabel()}, kernel ${runtimeInfo().isa.gemmKernel}; vs ONNX Runtime ${(t / s).toFixed(2)}x`,
      });
    });
    rows.push({ suite: 'forward', name: 'ONNX Runtime forward, 10,000 digits', seconds: t, figures: { gflops: flops / t / 1e9 } });
    return rows;
  } finally {
    setGemm(gemm);
    await ort.dispose();
  }
}
