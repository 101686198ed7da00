/**
 * Options shared by every long-running call, and their translation into the addon's
 * control object: progress callback plus a cancel flag raised by an AbortSignal.
 */
import type { NativeControl, NativeProgress } from '../native/binding.js';
import { AbortError, fromNative } from '../errors.js';

export type ProgressEvent = NativeProgress;

export interface RunOptions {
  /**
   * Called from the main thread with progress of the native work. If it throws, the native
   * work stops at its next cancellation check and the call rejects with that same error.
   */
  onProgress?: (p: ProgressEvent) => void;
  /** Aborting rejects the call with AbortError; finished work is kept. */
  signal?: AbortSignal;
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError();
}

/**
 * `e` with the stack of `where` (an Error made by the caller, before its first await), less
 * its top frame: an asynchronous failure then points at the call that started the work.
 * `where.stack` is formatted only here, on failure.
 */
export function withStackOf<E extends Error>(e: E, where: Error): E {
  const stack = where.stack;
  if (stack) e.stack = `${e.name}: ${e.message}\n${stack.split('\n').slice(2).join('\n')}`;
  return e;
}

/**
 * Runs one native call with a cancel flag wired to `signal`; native errors become
 * NremError subclasses with the caller's stack.
 */
export async function runNative<T>(opts: RunOptions | undefined, call: (control: NativeControl) => Promise<T>): Promise<T> {
  throwIfAborted(opts?.signal);
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = () => Atomics.store(cancel, 0, 1);
  opts?.signal?.addEventListener('abort', onAbort, { once: true });
  // The caller's stack, formatted only if the call fails: formatting it costs more than
  // many a short call.
  const where = new Error();
  try {
    return await call({ cancel, onProgress: opts?.onProgress });
  } catch (err) {
    const e = fromNative(err);
    // A native error gets the caller's stack; the error of a throwing onProgress keeps its own.
    throw e !== err && e instanceof Error ? withStackOf(e, where) : e;
  } finally {
    opts?.signal?.removeEventListener('abort', onAbort);
  }
}
