/** Runtime settings and facts of the native core. */
import { addon, addonPath, type NativeInfo } from './binding.js';
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
