/**
 * The CUDA backend. The always-run part checks what every machine must do: report CUDA's
 * status with a reason when it is unavailable, fall back from 'auto' to the CPU, and refuse
 * 'cuda' with a BackendError. The GPU part (parity of the CUDA kernels with the CPU core on
 * MNIST) runs only where a usable GPU answers, and says so when it is skipped.
 */
import { describe, expect, it } from 'vitest';
import { BackendError, ValueError, cudaInfo, resolveBackend, runtimeInfo } from '../src/index.js';

const cuda = cudaInfo();
const cudaAvailable = cuda.available;
if (!cudaAvailable) console.log(`[cuda.test] GPU tests skipped: no usable GPU (${cuda.reason})`);

describe('CUDA backend: status and fallback (every machine)', () => {
  it('reports compiled/available/devices, and a reason whenever unavailable', () => {
    const info = runtimeInfo();
    expect(info.cuda).toEqual(cuda);
    expect(info.cudaCompiled).toBe(cuda.compiled);
    expect(Array.isArray(cuda.devices)).toBe(true);
    if (cuda.available) {
      expect(cuda.compiled).toBe(true);
      expect(cuda.reason).toBeUndefined();
      expect(cuda.devices.some((d) => d.usable)).toBe(true);
    } else {
      expect(typeof cuda.reason).toBe('string');
      expect(cuda.reason!.length).toBeGreaterThan(10);
      if (!cuda.compiled) expect(cuda.reason).toMatch(/without CUDA/);
    }
  });

  it("'auto' picks CUDA when available, else the CPU with the reason", () => {
    const c = resolveBackend('auto');
    if (cudaAvailable) expect(c).toEqual({ backend: 'cuda' });
    else expect(c).toEqual({ backend: 'cpu', reason: cuda.reason });
    expect(resolveBackend('cpu')).toEqual({ backend: 'cpu' });
  });

  it.skipIf(cudaAvailable)("'cuda' without a usable GPU is a BackendError naming the reason", () => {
    let err: unknown;
    try {
      resolveBackend('cuda');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).code).toBe('ERR_BACKEND');
    expect((err as Error).message).toContain(cuda.reason!);
  });

  it('rejects an unknown backend name', () => {
    expect(() => resolveBackend('tpu' as never)).toThrow(ValueError);
  });
});
