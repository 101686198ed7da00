/**
 * Argument checks at the TypeScript boundary. One message format everywhere:
 * "Expected X for name but received Y".
 */
import { ArgumentError, ShapeError, ValueError } from '../errors.js';
import { addon } from '../native/binding.js';

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return typeof v;
}

export function expectFloat32Array(v: unknown, name: string, length?: number): Float32Array {
  if (!(v instanceof Float32Array)) throw new ArgumentError(`Expected Float32Array for ${name} but received ${describe(v)}`);
  if (length !== undefined && v.length !== length)
    throw new ShapeError(`Expected ${name} to hold ${length} values but it holds ${v.length}`);
  return v;
}

function where(i: number, rowWidth?: number): string {
  return rowWidth ? `row ${Math.floor(i / rowWidth)}, column ${i % rowWidth}` : `index ${i}`;
}

/** Arrays longer than this are scanned natively, off the main thread (a JS loop over them would stall the event loop). */
export const NATIVE_SCAN_MIN = 1 << 18;

/**
 * expectFinite without blocking the event loop: large arrays are scanned by the native
 * core on a worker thread. Same message as expectFinite.
 */
export async function expectFiniteAsync(a: Float32Array, name: string, rowWidth?: number): Promise<void> {
  if (a.length < NATIVE_SCAN_MIN) return expectFinite(a, name, rowWidth);
  const s = await addon().scanValues(a, -Infinity, Infinity);
  if (s.firstNonFinite >= 0) throw new ValueError(`Expected finite values in ${name} but found ${a[s.firstNonFinite]} at ${where(s.firstNonFinite, rowWidth)}`);
}

/** Throws ValueError naming the first non-finite entry. */
export function expectFinite(a: Float32Array, name: string, rowWidth?: number): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (x !== x || x === Infinity || x === -Infinity) {
      const where = rowWidth ? `row ${Math.floor(i / rowWidth)}, column ${i % rowWidth}` : `index ${i}`;
      throw new ValueError(`Expected finite values in ${name} but found ${x} at ${where}`);
    }
  }
}

export function expectInt(v: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new ArgumentError(`Expected an integer for ${name} but received ${describe(v)}`);
  if (v < min || v > max) throw new ValueError(`Expected ${name} in [${min}, ${max}] but received ${v}`);
  return v;
}

export function expectNumber(v: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ArgumentError(`Expected a finite number for ${name} but received ${describe(v)}`);
  if (v < min || v > max) throw new ValueError(`Expected ${name} in [${min}, ${max}] but received ${v}`);
  return v;
}

export function expectBoolean(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw new ArgumentError(`Expected true or false for ${name} but received ${describe(v)}`);
  return v;
}

export function expectOneOf<T extends string>(v: unknown, name: string, options: readonly T[]): T {
  if (typeof v !== 'string' || !options.includes(v as T))
    throw new ValueError(`Expected one of ${options.join(', ')} for ${name} but received ${describe(v)}`);
  return v as T;
}

export function expectSeed(v: unknown, name = 'seed'): number {
  return expectInt(v, name, 0, Number.MAX_SAFE_INTEGER);
}

/** Options shared by every long call (RunOptions). */
export const RUN_OPTION_KEYS = ['onProgress', 'signal'] as const;

/**
 * Rejects keys of an options object that `allowed` does not list (a misspelt option would
 * otherwise be silently ignored), naming the valid ones. Returns o.
 */
export function expectKnownKeys<T>(o: T, allowed: readonly string[], name = 'options'): T {
  if (o === undefined || o === null) return o;
  if (typeof o !== 'object') throw new ArgumentError(`Expected an object for ${name} but received ${describe(o)}`);
  for (const k of Object.keys(o as object))
    if (!allowed.includes(k)) {
      const near = allowed.find((a) => a.toLowerCase().replace(/[_-]/g, '') === k.toLowerCase().replace(/[_-]/g, ''));
      throw new ValueError(`Unknown option ${JSON.stringify(k)} for ${name}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; valid options: ${[...allowed].sort().join(', ')}`);
    }
  return o;
}
