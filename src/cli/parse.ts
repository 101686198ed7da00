/**
 * Strict parsing of command-line values: every number flag of every command goes through
 * here, so that a typo is an error naming the flag, never a silent 0, NaN, truncation or
 * wrap-around. Rules:
 *   - a number is the whole string in decimal notation (123, -4, 0.5, .5, 1e-3, 2.5E4):
 *     no empty string, no spaces inside, no hex/octal/binary, no "Infinity", no "NaN";
 *   - an integer must be a safe integer (|v| ≤ 2^53 − 1) and inside the flag's range;
 *   - a list is comma-separated numbers, with no empty entry ("0.1,,0.2" is an error) and
 *     at most `maxCount` entries;
 *   - a limit is an integer ≥ 1 or "all".
 * Failures are ValueErrors (code ERR_VALUE) whose message starts with the flag.
 */
import { ValueError } from '../errors.js';

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function show(s: unknown): string {
  return JSON.stringify(typeof s === 'string' && s.length > 60 ? s.slice(0, 60) + '…' : s);
}

function range(min: number, max: number): string {
  if (max >= Number.MAX_SAFE_INTEGER && min <= -Number.MAX_SAFE_INTEGER) return '';
  if (max >= Number.MAX_SAFE_INTEGER) return `>= ${min}`;
  if (min <= -Number.MAX_SAFE_INTEGER) return `<= ${max}`;
  return `in [${min}, ${max}]`;
}

export interface NumberRange {
  min?: number;
  max?: number;
}

/** A finite decimal number in [min, max]. */
export function parseNumber(s: unknown, flag: string, { min = -Infinity, max = Infinity }: NumberRange = {}): number {
  const t = typeof s === 'string' ? s.trim() : '';
  const v = DECIMAL.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(v)) throw new ValueError(`${flag}: expected a number${range(min, max) && ' ' + range(min, max)} but received ${show(s)}`);
  if (v < min || v > max) throw new ValueError(`${flag}: expected a number${range(min, max) && ' ' + range(min, max)} but received ${t}`);
  return v;
}

/** A safe integer in [min, max] (1e3 is accepted, 1.5 and 2^63 are not). */
export function parseInteger(s: unknown, flag: string, { min = -Number.MAX_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER }: NumberRange = {}): number {
  const t = typeof s === 'string' ? s.trim() : '';
  const v = DECIMAL.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(v)) throw new ValueError(`${flag}: expected an integer${range(min, max) && ' ' + range(min, max)} but received ${show(s)}`);
  if (v < min || v > max) throw new ValueError(`${flag}: expected an integer${range(min, max) && ' ' + range(min, max)} but received ${t}`);
  return v;
}

/** An optional integer: undefined stays undefined. */
export function optionalInteger(s: string | undefined, flag: string, r: NumberRange = {}): number | undefined {
  return s === undefined ? undefined : parseInteger(s, flag, r);
}

export function optionalNumber(s: string | undefined, flag: string, r: NumberRange = {}): number | undefined {
  return s === undefined ? undefined : parseNumber(s, flag, r);
}

/** A seed: an integer in [0, 2^53 − 1]. */
export function parseSeed(s: unknown, flag = '--seed'): number {
  return parseInteger(s, flag, { min: 0 });
}

/** Comma-separated numbers, each in [min, max], no empty entry, 1 … maxCount entries. */
export function parseNumberList(s: unknown, flag: string, { min = -Infinity, max = Infinity, maxCount = 10_000 }: NumberRange & { maxCount?: number } = {}): number[] {
  if (typeof s !== 'string' || s.trim() === '') throw new ValueError(`${flag}: expected a comma-separated list of numbers but received ${show(s)}`);
  const parts = s.split(',');
  if (parts.length > maxCount) throw new ValueError(`${flag}: expected at most ${maxCount} values but received ${parts.length}`);
  return parts.map((p, i) => {
    if (p.trim() === '') throw new ValueError(`${flag}: entry ${i + 1} of ${show(s)} is empty`);
    return parseNumber(p, `${flag} entry ${i + 1}`, { min, max });
  });
}

export function optionalNumberList(s: string | undefined, flag: string, r: NumberRange & { maxCount?: number } = {}): number[] | undefined {
  return s === undefined ? undefined : parseNumberList(s, flag, r);
}

/** Comma-separated integers (layer sizes), each in [min, max]. */
export function parseIntegerList(s: unknown, flag: string, { min = 1, max = Number.MAX_SAFE_INTEGER, minCount = 1 }: NumberRange & { minCount?: number } = {}): number[] {
  if (typeof s !== 'string' || s.trim() === '') throw new ValueError(`${flag}: expected comma-separated integers but received ${show(s)}`);
  const parts = s.split(',');
  if (parts.length < minCount) throw new ValueError(`${flag}: expected at least ${minCount} comma-separated integers but received ${show(s)}`);
  return parts.map((p, i) => {
    if (p.trim() === '') throw new ValueError(`${flag}: entry ${i + 1} of ${show(s)} is empty`);
    return parseInteger(p, `${flag} entry ${i + 1}`, { min, max });
  });
}

/** A row limit: an integer >= 1, or "all" (undefined = all). */
export function parseLimit(s: string | undefined, flag = '--limit'): number | undefined {
  if (s === undefined || s.trim().toLowerCase() === 'all') return undefined;
  return parseInteger(s, flag, { min: 1 });
}

/** One of `options`. */
export function parseChoice<T extends string>(s: unknown, flag: string, options: readonly T[]): T {
  if (typeof s !== 'string' || !options.includes(s as T))
    throw new ValueError(`${flag}: expected one of ${options.join(', ')} but received ${show(s)}`);
  return s as T;
}
