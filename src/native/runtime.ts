/** Runtime settings and facts of the native core. */
import { addon, addonPath, type IsaName, type BackendName, type NativeBackendChoice, type NativeCudaInfo, type NativeInfo } from './binding.js';
import { expectInt, expectOneOf } from '../util/validate.js';
import { fromNative } from '../errors.js';

export interface RuntimeInfo extends NativeInfo {
  addon: string;
}

export function runtimeInfo(): RuntimeInfo {
  return { ...addon().info(), addon: addonPath() };
}

/** Threads used by the native core (0 = all cores). Results do not depend on it. */
export function setThreads(n: number): void {
  expectInt(n, 'threads', 0, 1024);
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
