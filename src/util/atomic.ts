/**
 * Atomic file writes, the one way nrem saves finished work: a temporary file beside the
 * target, then rename, so a reader or a killed run sees either the old file or the
 * complete new one, never a partial file. `mkdir: true` creates the folder first; without
 * it a missing folder is an error (a mistyped --out should not silently create paths).
 */

export interface AtomicOptions {
  mkdir?: boolean;
}
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

function tempName(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

export async function writeAtomic(path: string, data: string | Uint8Array, opts: AtomicOptions = {}): Promise<void> {
  if (opts.mkdir) await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function writeAtomicSync(path: string, data: string | Uint8Array, opts: AtomicOptions = {}): void {
  if (opts.mkdir) mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
