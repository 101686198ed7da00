/**
 * The resumable store of an experiment: every finished unit of work lies under
 * DIR/units/ as files named by a content hash of its inputs (the unit's own spec and the
 * hashes of the units it reads). A unit is finished exactly when its `.json` record
 * exists; its payload (an ONNX network, …) is written first, the record last, each
 * atomically (temp file + rename), so a run killed at any point leaves either a finished
 * unit or nothing that counts, and a new run redoes nothing that finished.
 */
import { createHash } from 'node:crypto';
import { writeAtomicSync } from '../util/atomic.js';
import { mkdirSync, readFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Bump when the meaning of a unit's output changes: every key changes with it. */
export const STORE_VERSION = 1;

/** JSON with object keys sorted at every level: the same value always hashes the same. */
export function canonicalJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) return JSON.stringify(String(v));
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (ArrayBuffer.isView(v)) throw new TypeError('canonicalJson: typed arrays are not part of a unit spec');
  const keys = Object.keys(v as object)
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** The 20-hex-digit key of a unit: sha256 of (store version, kind, params, input keys). */
export function unitKey(kind: string, params: unknown, inputs: readonly string[] = []): string {
  const text = canonicalJson({ v: STORE_VERSION, kind, params, inputs: [...inputs] });
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}


/** The record of a finished unit. */
export interface UnitRecord<T = unknown> {
  key: string;
  kind: string;
  /** Human label, e.g. "seed 1 / control". */
  label: string;
  params: unknown;
  inputs: string[];
  /** Payload files of the unit, relative to the units folder. */
  files: string[];
  wallSeconds: number;
  finishedAt: string;
  value: T;
}

export class UnitStore {
  readonly dir: string;
  constructor(root: string) {
    this.dir = join(root, 'units');
    mkdirSync(this.dir, { recursive: true });
  }

  /** File name stem of a unit: kind-key. */
  stem(kind: string, key: string): string {
    return `${kind.replace(/[^a-z0-9-]/gi, '_')}-${key}`;
  }

  path(kind: string, key: string, ext: string): string {
    return join(this.dir, `${this.stem(kind, key)}.${ext}`);
  }

  /** The finished record, or undefined (missing, or a payload file lost). */
  get<T>(kind: string, key: string): UnitRecord<T> | undefined {
    const p = this.path(kind, key, 'json');
    if (!existsSync(p)) return undefined;
    let rec: UnitRecord<T>;
    try {
      rec = JSON.parse(readFileSync(p, 'utf8')) as UnitRecord<T>;
    } catch {
      return undefined;
    }
    if (rec.key !== key || !rec.files.every((f) => existsSync(join(this.dir, f)))) return undefined;
    return rec;
  }

  /** Writes a payload file atomically; returns its name relative to the units folder. */
  putFile(kind: string, key: string, ext: string, data: string | Uint8Array): string {
    const p = this.path(kind, key, ext);
    writeAtomicSync(p, data, { mkdir: true });
    return p.slice(this.dir.length + 1);
  }

  /** Writes the record last: from now on the unit counts as finished. */
  finish<T>(rec: UnitRecord<T>): void {
    writeAtomicSync(this.path(rec.kind, rec.key, 'json'), JSON.stringify(rec, null, 1), { mkdir: true });
  }

  /** Removes temp files left by a killed run. */
  cleanTemp(): number {
    let n = 0;
    for (const f of readdirSync(this.dir)) {
      if (f.endsWith('.tmp')) {
        rmSync(join(this.dir, f), { force: true });
        n++;
      }
    }
    return n;
  }
}
