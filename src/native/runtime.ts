/** Runtime settings and facts of the native core. */
import { addon, addonPath, type IsaName, type BackendName, type NativeBackendChoice, type NativeCudaInfo, type NativeInfo } from './binding.js';
import { describe, expectOneOf } from '../util/validate.js';
import { fromNative, ValueError } from '../errors.js';

export interface RuntimeInfo extends NativeInfo {
  addon: string;
}

export function runtimeInfo(): RuntimeInfo {
  return { ...addon().info(), addon: addonPath() };
}

/**
 * Threads used by the native core: 1 … 1024, or 'auto' (all cores, or env NREM_THREADS).
 * Results do not depend on it. Safe while native calls run: calls started afterwards use
 * the new count, calls already running finish on the threads they started with (see
 * native/core/thread_pool.h).
 */
export function setThreads(n: number | 'auto'): void {
  if (n === 'auto') return addon().setThreads(0);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024)
    throw new ValueError(`Expected an integer in [1, 1024] or 'auto' for threads but received ${describe(n)}`);
  addon().setThreads(n);
}

/** GEMM kernel: OpenBLAS (when built in) or nrem's own. */
export function setGemm(name: 'native' | 'openblas'): void {
  expectOneOf(name, 'gemm', ['native', 'openblas'] as const);
  try {
    addon().setGemm(name);
  } catch (err) {
    throw fromNative(err);
  }
}

export const ISAS = ['generic', 'avx2', 'avx512'] as const;

/**
 * CPU path of the hot kernels (GEMM, sleep): 'avx512', 'avx2' or 'generic'. The default is
 * the widest the CPU runs (or env NREM_ISA). BackendError when this CPU cannot run it.
 */
export function setIsa(name: IsaName): void {
  expectOneOf(name, 'isa', ISAS);
  try {
    addon().setIsa(name);
  } catch (err) {
    throw fromNative(err);
  }
}

export const GEMM_KERNELS = ['auto', 'avx512', 'avx2'] as const;

/**
 * The avx512 path's own-GEMM micro-kernel: 'auto' (the default, or env NREM_GEMM_KERNEL:
 * the 12x32 AVX-512 kernel, except on CPUs that run 512-bit FMAs as two 256-bit halves,
 * AMD Zen 4, where the AVX2 6x16 kernel is faster), 'avx512' or 'avx2'. Every kernel gives
 * the same bits; the other paths always use their own. runtimeInfo().isa.gemmKernel names
 * the kernel in use and gemmKernelReason says why.
 */
export function setGemmKernel(name: (typeof GEMM_KERNELS)[number]): void {
  expectOneOf(name, 'gemmKernel', GEMM_KERNELS);
  try {
    addon().setGemmKernel(name);
  } catch (err) {
    throw fromNative(err);
  }
}

export const BACKENDS = ['cpu', 'cuda', 'auto'] as const;
export type Backend = BackendName;
export type BackendChoice = NativeBackendChoice;
export type CudaInfo = NativeCudaInfo;

/** The CUDA status of the loaded addon: compiled?, available?, why not, devices. */
export function cudaInfo(): CudaInfo {
  return addon().info().cuda;
}

/**
 * Resolves a backend request: 'cpu'; 'cuda' (BackendError with the reason when no usable
 * GPU); 'auto' (CUDA when available, else the CPU with `reason` saying why).
 */
export function resolveBackend(backend: Backend = 'auto'): BackendChoice {
  expectOneOf(backend, 'backend', BACKENDS);
  try {
    return addon().resolveBackend(backend);
  } catch (err) {
    throw fromNative(err);
  }
}
