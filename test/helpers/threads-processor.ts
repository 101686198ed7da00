/**
 * A processor for test/distributed-threads.test.ts: it loads nrem's own processor module —
 * whose start-up sizes the unit's thread pools from the worker's --threads — and answers each
 * job with what a unit running in this child process gets: the native core's threads, an
 * ONNX Runtime session's intra-op threads when the unit asks for none, OpenBLAS's setting.
 */
import '../../src/distributed/processor.js';
import { runtimeInfo } from '../../src/native/runtime.js';
import { OrtModel } from '../../src/model/ort.js';
import { createNetwork } from '../../src/train/train.js';

export default async function threads(): Promise<{ native: number; ort: number; openblas: string | undefined }> {
  const m = await OrtModel.fromNetwork(createNetwork('paper', [4, 8, 2], 1));
  try {
    return { native: runtimeInfo().threads, ort: m.threads, openblas: process.env.OPENBLAS_NUM_THREADS };
  } finally {
    await m.dispose();
  }
}
