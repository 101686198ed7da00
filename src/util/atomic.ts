/**
 * Atomic file writes, the one way nrem saves finished work: a temporary file beside the
 * target, then rename, so a reader or a killed run sees either the old file or the
 * complete new one, never a partial file. `mkdir: true` creates the folder first; without
 * it a missing folder is an error (a mistyped --out should not silently create paths).
 * Failures are OutputErrors naming the target and, when the folder is missing, the folder
 * (never the temporary file).
 */

export interface AtomicOptions {
  mkdir?: boolean;
}
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { NremError, OutputError } from '../errors.js';
import { makeDirs } from './files.js';

function writeError(path: string, err: unknown): Error {
  if (err instanceof NremError) return err;
  const e = err as NodeJS.ErrnoException;
  const dir = dirname(resolve(path));
  if (e.code === 'ENOENT' && !existsSync(dir)) return new OutputError(`${path}: the folder ${dir} does not exist`, { cause: err });
  return new OutputError(`${path}: cannot write (${e.code ?? ''}${e.code ? ' ' : ''}in ${dir})`, { cause: err });
}

function tempName(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

export async function writeAtomic(path: string, data: string | Uint8Array, opts: AtomicOptions = {}): Promise<void> {
  if (opts.mkdir) makeDirs(dirname(path));
  const tmp = tempName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw writeError(path, err);
  }
}

export function writeAtomicSync(path: string, data: string | Uint8Array, opts: AtomicOptions = {}): void {
  if (opts.mkdir) makeDirs(dirname(path));
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw writeError(path, err);
  }
}
