/**
 * The resumable store of an experiment: every finished unit of work is a record named by a
 * content hash of its inputs (the unit's own spec and the keys of the units it reads), with
 * its payload files (an ONNX network, …). A unit is finished exactly when its record exists
 * and verifies; payloads are written first, the record last, each atomically, so a run
 * killed at any point leaves either a finished unit or nothing that counts, and a new run
 * redoes nothing that finished.
 *
 * Every record carries a checksum: sha256 of its canonical JSON (key, kind, params, inputs,
 * value and the payloads' hashes) and sha256 of each payload. `read` checks both, so a record
 * edited by hand, a truncated or replaced payload, or a record written without a checksum is
 * reported as `bad` (with the file named) instead of being trusted; the runner then recomputes
 * that unit and what depends on it.
 *
 * Two implementations of the one `Store` interface: `DirStore` (a folder, DIR/units: the
 * default, also on a network file system shared by workers) and `RedisStore`
 * (src/distributed/redis-store.ts: the same records and payloads as Redis values).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { makeDirs } from '../util/files.js';
import { join } from 'node:path';
import { NremError } from '../errors.js';
import { writeAtomicSync } from '../util/atomic.js';

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

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The 20-hex-digit key of a unit: sha256 of (store version, kind, params, input keys). */
export function unitKey(kind: string, params: unknown, inputs: readonly string[] = []): string {
  return sha256(canonicalJson({ v: STORE_VERSION, kind, params, inputs: [...inputs] })).slice(0, 20);
}

/** The record of a finished unit. */
export interface UnitRecord<T = unknown> {
  key: string;
  kind: string;
  /** Human label, e.g. "seed 1 / control". */
  label: string;
  params: unknown;
  inputs: string[];
  /** Payload files of the unit (names inside the store). */
  files: string[];
  wallSeconds: number;
  finishedAt: string;
  /** host:pid of the process that computed it. */
  computedBy?: string;
  value: T;
  /** sha256 of the record's content and of each payload, and each payload's size (see the header). */
  checksum?: { record: string; files: Record<string, string>; sizes: Record<string, number> };
}

/** What a unit's code hands to `Store.save`: the record without files and checksum. */
export type NewRecord<T = unknown> = Omit<UnitRecord<T>, 'files' | 'checksum'>;

export interface Payload {
  /** File extension, e.g. "onnx". */
  ext: string;
  data: Uint8Array;
}

export type ReadResult<T> =
  | { status: 'ok'; record: UnitRecord<T> }
  | { status: 'missing' }
  /** Present but not trustworthy: `file` names what is wrong (record or payload). */
  | { status: 'bad'; reason: string; file: string };

export type StoreLocation = { type: 'dir'; path: string } | { type: 'redis'; url: string; prefix: string };

export interface ReadOptions {
  /** 'hash' (default): read every payload and check its sha256; 'size': check only that it exists with its recorded size. */
  payloads?: 'hash' | 'size';
}

export interface Store {
  /** Where the store lives, as a worker on another machine would open it. */
  readonly location: StoreLocation;
  /** "DIR/units" or "redis://host:port (prefix nrem:store)", for messages. */
  describe(): string;
  /** Where one file of the store is, for messages. */
  where(file: string): string;
  /** File name stem of a unit: kind-key. */
  stem(kind: string, key: string): string;
  /** The unit's record, verified (see ReadResult). */
  read<T>(kind: string, key: string, opts?: ReadOptions): Promise<ReadResult<T>>;
  /** The record if it exists and verifies. */
  get<T>(kind: string, key: string, opts?: ReadOptions): Promise<UnitRecord<T> | undefined>;
  /** Whether a record exists (not verified): a cheap poll. */
  has(kind: string, key: string): Promise<boolean>;
  /** A payload of a record, checked against the record's checksum (StoreIntegrityError if it does not match). */
  readFile(rec: UnitRecord, file: string): Promise<Uint8Array>;
  /** Writes the payloads, then the record with its checksum: from then on the unit counts as finished. */
  save<T>(rec: NewRecord<T>, payloads?: Payload[]): Promise<UnitRecord<T>>;
  /** Removes what a killed writer left half-done (temp files older than `olderThanMs`, default 0). */
  cleanTemp(olderThanMs?: number): Promise<number>;
  close(): Promise<void>;
}

/** A store whose content does not verify, or that cannot be reached. */
export class StoreIntegrityError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE', message, options);
  }
}

export function stemOf(kind: string, key: string): string {
  return `${kind.replace(/[^a-z0-9-]/gi, '_')}-${key}`;
}

/** The checksum of a record's content (everything but files/timing/checksum) with its payload hashes. */
function recordHash(rec: Pick<UnitRecord, 'key' | 'kind' | 'params' | 'inputs' | 'value'>, files: Record<string, string>): string {
  return sha256(canonicalJson({ key: rec.key, kind: rec.kind, params: rec.params, inputs: rec.inputs, value: rec.value, files }));
}

/**
 * The record as it will be stored: values normalised through JSON (what a reader sees:
 * NaN and Infinity become null), the payload names and the checksum. Shared by the stores.
 */
export function sealRecord<T>(rec: NewRecord<T>, files: { name: string; data: Uint8Array }[]): UnitRecord<T> {
  const norm = JSON.parse(JSON.stringify(rec)) as NewRecord<T>;
  const hashes: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  for (const f of files) {
    hashes[f.name] = sha256(f.data);
    sizes[f.name] = f.data.length;
  }
  const out: UnitRecord<T> = { ...norm, inputs: norm.inputs ?? [], files: files.map((f) => f.name) };
  out.checksum = { record: recordHash(out, hashes), files: hashes, sizes };
  return out;
}

/**
 * Parses and checks a record's text (not its payloads). Returns the record or the reason it
 * is bad. `file` names the record for messages.
 */
export function checkRecord<T>(text: string, kind: string, key: string, file: string): ReadResult<T> & { status: 'ok' | 'bad' } {
  let rec: UnitRecord<T>;
  try {
    rec = JSON.parse(text) as UnitRecord<T>;
  } catch {
    return { status: 'bad', reason: 'the record is not valid JSON (torn or edited)', file };
  }
  if (!rec || typeof rec !== 'object' || rec.key !== key || rec.kind !== kind || !Array.isArray(rec.files))
    return { status: 'bad', reason: `the record does not describe unit ${kind}-${key}`, file };
  const c = rec.checksum;
  if (!c || typeof c.record !== 'string' || !c.files || typeof c.files !== 'object')
    return { status: 'bad', reason: 'the record has no checksum (written by an older nrem)', file };
  if (rec.files.some((f) => typeof c.files[f] !== 'string' || typeof c.sizes?.[f] !== 'number') || Object.keys(c.files).length !== rec.files.length)
    return { status: 'bad', reason: 'the record names payloads its checksum does not cover', file };
  if (recordHash(rec, c.files) !== c.record) return { status: 'bad', reason: 'the record does not match its checksum (changed since it was written)', file };
  return { status: 'ok', record: rec };
}

/** Checks a payload's bytes against its record; throws StoreIntegrityError naming the unit and file. */
export function checkPayload(rec: UnitRecord, file: string, data: Uint8Array | undefined, where: string): Uint8Array {
  const want = rec.checksum?.files[file];
  if (data === undefined) throw new StoreIntegrityError(`unit "${rec.label}": payload ${where} is missing; run again to recompute the unit`);
  if (!want || sha256(data) !== want)
    throw new StoreIntegrityError(
      `unit "${rec.label}": payload ${where} does not match its checksum (${data.length} bytes; truncated or changed since it was written); run again to recompute the unit`,
    );
  return data;
}

/** The folder store: DIR/units/<kind>-<key>.json and its payloads beside it. */
export class DirStore implements Store {
  readonly dir: string;
  readonly location: StoreLocation;
  /** `root` is the run's output folder; the store is root/units. */
  constructor(root: string, opts: { create?: boolean } = {}) {
    this.dir = join(root, 'units');
    if (opts.create !== false) makeDirs(this.dir, '--out');  // one level at a time: a bad path is an OutputError, never a loop
    else if (!existsSync(this.dir)) throw new StoreIntegrityError(`the store folder ${this.dir} does not exist here (is the shared file system mounted at the same path?)`);
    this.location = { type: 'dir', path: root };
  }

  describe(): string {
    return this.dir;
  }

  where(file: string): string {
    return join(this.dir, file);
  }

  stem(kind: string, key: string): string {
    return stemOf(kind, key);
  }

  path(kind: string, key: string, ext: string): string {
    return join(this.dir, `${this.stem(kind, key)}.${ext}`);
  }

  async read<T>(kind: string, key: string, opts: ReadOptions = {}): Promise<ReadResult<T>> {
    const p = this.path(kind, key, 'json');
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
      return { status: 'bad', reason: `the record cannot be read (${(err as Error).message})`, file: p };
    }
    const r = checkRecord<T>(text, kind, key, p);
    if (r.status !== 'ok') return r;
    for (const f of r.record.files) {
      const fp = join(this.dir, f);
      try {
        if (opts.payloads === 'size') {
          if (statSync(fp).size !== r.record.checksum!.sizes[f]) throw new Error('size');
          continue;
        }
        checkPayload(r.record, f, readFileSync(fp), fp);
      } catch (err) {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        return { status: 'bad', reason: missing ? 'the payload is missing' : 'the payload does not match its checksum (truncated or changed since it was written)', file: fp };
      }
    }
    return r;
  }

  async get<T>(kind: string, key: string, opts?: ReadOptions): Promise<UnitRecord<T> | undefined> {
    const r = await this.read<T>(kind, key, opts);
    return r.status === 'ok' ? r.record : undefined;
  }

  async has(kind: string, key: string): Promise<boolean> {
    return existsSync(this.path(kind, key, 'json'));
  }

  async readFile(rec: UnitRecord, file: string): Promise<Uint8Array> {
    const fp = join(this.dir, file);
    let data: Uint8Array | undefined;
    try {
      data = new Uint8Array(readFileSync(fp));
    } catch {
      data = undefined;
    }
    return checkPayload(rec, file, data, fp);
  }

  async save<T>(rec: NewRecord<T>, payloads: Payload[] = []): Promise<UnitRecord<T>> {
    const files = payloads.map((p) => ({ name: `${this.stem(rec.kind, rec.key)}.${p.ext}`, data: p.data }));
    for (const f of files) writeAtomicSync(join(this.dir, f.name), f.data, { mkdir: true });
    const sealed = sealRecord(rec, files);
    writeAtomicSync(this.path(rec.kind, rec.key, 'json'), JSON.stringify(sealed, null, 1), { mkdir: true });
    return sealed;
  }

  async cleanTemp(olderThanMs = 0): Promise<number> {
    let n = 0;
    const now = Date.now();
    for (const f of readdirSync(this.dir)) {
      if (f.endsWith('.tmp')) {
        const st = statSync(join(this.dir, f), { throwIfNoEntry: false });
        if (!st || (olderThanMs > 0 && now - st.mtimeMs < olderThanMs)) continue;
        rmSync(join(this.dir, f), { force: true });
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {}
}
