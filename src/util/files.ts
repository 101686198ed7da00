/**
 * Reading input files with a size limit, and checking output locations before any work.
 *
 * readInputFile / readInputFileSync: the one way nrem reads a model or data file. Only
 * regular files and pipes are read (a character device such as /dev/zero, a socket or a
 * folder is refused at once); a regular file larger than `maxBytes`, or than the memory
 * available (src/util/memory.ts), is refused before a byte is read; a pipe is read until
 * EOF or until it passes `maxBytes`. Failures are FormatErrors naming the file.
 *
 * prepareOutputFile / prepareOutputDir: an output that cannot be written is reported, with
 * the folder at fault, before the work that would produce it starts. Folders are created
 * one level at a time (never with mkdir's `recursive`, which loops for ever under /proc on
 * Node 20), and writability is proven by creating and removing a probe file.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, rmSync, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { FormatError, OutputError } from '../errors.js';
import { checkMemory, formatBytes } from './memory.js';

/** ONNX files: protobuf's own limit is 2 GiB. */
export const MODEL_FILE_LIMIT = 2 ** 31;
/** Data files (IDX, NPY, NPZ, CSV). */
export const DATA_FILE_LIMIT = 2 ** 34;

export interface ReadLimit {
  /** Largest file accepted (default DATA_FILE_LIMIT). */
  maxBytes?: number;
  /** What the file is, for messages ("ONNX model", "data file"). */
  what?: string;
}

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function an(what: string): string {
  return `${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what}`;
}

function cannotRead(path: string, err: unknown): FormatError {
  const e = err as NodeJS.ErrnoException;
  return new FormatError(`${path}: cannot read (${e.code ?? ''}${e.code ? ': ' : ''}${e.message?.replace(/^[A-Z]+: /, '') ?? String(err)})`, { cause: err });
}

/** Checks the file's kind and size; returns the bytes to read (regular) or -1 (pipe). */
function plan(path: string, st: Stats, limit: number, what: string): number {
  if (st.isFIFO()) return -1;
  if (!st.isFile()) throw new FormatError(`${path}: not a regular file (${kind(st)}), expected ${an(what)} file`);
  if (st.size > limit) throw new FormatError(`${path}: ${formatBytes(st.size)}, larger than the ${formatBytes(limit)} limit for ${an(what)} file`);
  checkMemory(st.size, `reading ${path}`);
  return st.size;
}

function tooLong(path: string, limit: number, what: string): FormatError {
  return new FormatError(`${path}: more than ${formatBytes(limit)} read from a pipe, the limit for ${an(what)} file`);
}

/** Reads a whole model or data file (see the header). */
export function readInputFileSync(path: string, opts: ReadLimit = {}): Uint8Array {
  const limit = opts.maxBytes ?? DATA_FILE_LIMIT;
  const what = opts.what ?? 'data';
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const size = plan(path, fstatSync(fd), limit, what);
    if (size >= 0) {
      const buf = new Uint8Array(size);
      let at = 0;
      while (at < size) {
        const k = readSync(fd, buf, at, size - at, null);
        if (k === 0) break;
        at += k;
      }
      return at === size ? buf : buf.subarray(0, at);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(1 << 20);
      const k = readSync(fd, chunk, 0, chunk.length, null);
      if (k === 0) break;
      total += k;
      if (total > limit) throw tooLong(path, limit, what);
      parts.push(chunk.subarray(0, k));
    }
    return Buffer.concat(parts);
  } catch (err) {
    if (err instanceof FormatError || (err as { code?: string }).code === 'ERR_MEMORY') throw err;
    throw cannotRead(path, err);
  } finally {
    closeSync(fd);
  }
}

/** The asynchronous readInputFileSync (the event loop keeps turning while a large file is read). */
export async function readInputFile(path: string, opts: ReadLimit = {}): Promise<Uint8Array> {
  const limit = opts.maxBytes ?? DATA_FILE_LIMIT;
  const what = opts.what ?? 'data';
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const size = plan(path, await fh.stat(), limit, what);
    if (size >= 0) {
      const buf = new Uint8Array(size);
      let at = 0;
      while (at < size) {
        const { bytesRead } = await fh.read(buf, at, size - at, null);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return at === size ? buf : buf.subarray(0, at);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(1 << 20);
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) throw tooLong(path, limit, what);
      parts.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(parts);
  } catch (err) {
    if (err instanceof FormatError || (err as { code?: string }).code === 'ERR_MEMORY') throw err;
    throw cannotRead(path, err);
  } finally {
    await fh.close();
  }
}

/** Spec, preset and results JSON files are small; anything larger is not one. */
export const JSON_FILE_LIMIT = 64 * 2 ** 20;

/** Reads and parses a JSON file of at most JSON_FILE_LIMIT bytes (FormatError naming the file otherwise). */
export function readJsonFile(path: string, what: string): unknown {
  const bytes = readInputFileSync(path, { maxBytes: JSON_FILE_LIMIT, what });
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new FormatError(`${path}: not a readable JSON ${what} (${(err as Error).message})`, { cause: err });
  }
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

function label(flag: string | undefined, path: string): string {
  return flag ? `${flag} ${path}` : path;
}

/** Proves that `dir` accepts new files by creating and removing a probe file in it. */
function probe(dir: string, flag?: string, target = dir): void {
  const p = resolve(dir, `.nrem-probe.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(p, 'wx'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new OutputError(`${label(flag, target)}: cannot write in the folder ${dir} (${e.code ?? e.message})`, { cause: err });
  }
  rmSync(p, { force: true });
}

/**
 * Creates `dir` and its missing parents, one level at a time (at most 4,096 levels).
 * Throws OutputError naming the first folder that cannot be created.
 */
export function makeDirs(dir: string, flag?: string): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  for (let depth = 0; depth < 4096; depth++) {
    const st = statOrNull(p);
    if (st) {
      if (!st.isDirectory()) throw new OutputError(`${label(flag, dir)}: ${p} exists and is not a folder`);
      break;
    }
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST' && statOrNull(m)?.isDirectory()) continue;
      throw new OutputError(`${label(flag, dir)}: cannot create the folder ${m} (${e.code ?? e.message})`, { cause: err });
    }
  }
}

/**
 * Checks, before any work, that `file` can be written: its folder exists (it is not
 * created: a mistyped path should not silently create folders), is a folder and accepts
 * new files, and `file` itself is not a folder. `flag` names the option (e.g. "--out").
 */
export function prepareOutputFile(file: string, flag?: string): void {
  if (typeof file !== 'string' || file === '') throw new OutputError(`${flag ?? 'output'}: expected a file name but received ${JSON.stringify(file)}`);
  const abs = resolve(file);
  const dir = dirname(abs);
  const st = statOrNull(dir);
  if (!st) throw new OutputError(`${label(flag, file)}: the folder ${dir} does not exist`);
  if (!st.isDirectory()) throw new OutputError(`${label(flag, file)}: ${dir} is not a folder`);
  if (statOrNull(abs)?.isDirectory()) throw new OutputError(`${label(flag, file)}: is a folder, expected a file name`);
  probe(dir, flag, file);
}

/** Creates `dir` if needed (see makeDirs) and checks that it accepts new files. */
export function prepareOutputDir(dir: string, flag?: string): void {
  if (typeof dir !== 'string' || dir === '') throw new OutputError(`${flag ?? 'output'}: expected a folder but received ${JSON.stringify(dir)}`);
  makeDirs(dir, flag);
  probe(resolve(dir), flag, dir);
}
