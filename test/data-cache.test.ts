// The cache of parsed data sets (src/util/cache.ts, src/data/mnist.ts): checksummed entries
// written atomically, damaged or stale entries ignored (the data parsed again), a read-only
// folder beside the package data falling back to the user cache.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDirs, decodeEntry, readCache, writeCache } from '../src/util/cache.js';
import { loadIdxDir } from '../src/data/mnist.js';
import { rowsHash } from '../src/data/hash.js';

const root = mkdtempSync(join(tmpdir(), 'nrem-cache-'));
const saved = process.env.NREM_CACHE_DIR;
let n = 0;
beforeEach(() => {
  process.env.NREM_CACHE_DIR = join(root, `user${++n}`);
});
afterAll(() => {
  if (saved === undefined) delete process.env.NREM_CACHE_DIR;
  else process.env.NREM_CACHE_DIR = saved;
  rmSync(root, { recursive: true, force: true });
});

/** An IDX file of unsigned bytes (big-endian sizes). */
function idx(file: string, dims: number[], data: Uint8Array): void {
  const head = new Uint8Array(4 + 4 * dims.length);
  head.set([0, 0, 8, dims.length]);
  const v = new DataView(head.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  writeFileSync(file, Buffer.concat([head, data]));
}

/** A small MNIST-shaped folder: 12 train / 5 test images of 4×3 pixels, pixel values from `salt`. */
function idxDir(salt: number): string {
  const dir = mkdtempSync(join(root, 'idx-'));
  const make = (name: string, count: number) => {
    const px = Uint8Array.from({ length: count * 12 }, (_, i) => (i * 37 + salt) % 256);
    idx(join(dir, `${name}-images-idx3-ubyte`), [count, 4, 3], px);
    idx(join(dir, `${name}-labels-idx1-ubyte`), [count], Uint8Array.from({ length: count }, (_, i) => (i + salt) % 10));
  };
  make('train', 12);
  make('t10k', 5);
  return dir;
}

describe('cache entries', () => {
  it('round trip; a flipped byte or a truncated file is not an entry', () => {
    const dir = writeCache('e.bin', Uint8Array.of(1, 2, 3, 250));
    expect(dir).toBe(process.env.NREM_CACHE_DIR);
    expect(Array.from(readCache('e.bin')!)).toEqual([1, 2, 3, 250]);
    const file = join(dir!, 'e.bin');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(file, bytes);
    expect(readCache('e.bin')).toBeNull();
    writeFileSync(file, bytes.subarray(0, bytes.length - 1));
    expect(readCache('e.bin')).toBeNull();
    expect(decodeEntry(new Uint8Array(10))).toBeNull();
    // No temporary files left behind by the atomic writes.
    expect(readdirSync(dir!)).toEqual(['e.bin']);
  });

  it('NREM_CACHE_DIR=off: nothing read or written', () => {
    process.env.NREM_CACHE_DIR = 'off';
    expect(cacheDirs({ near: root })).toEqual([]);
    expect(writeCache('x', 'y')).toBeNull();
    expect(readCache('x')).toBeNull();
  });

  it('a folder beside package data that cannot be written falls back to the user cache', () => {
    delete process.env.NREM_CACHE_DIR;
    process.env.XDG_CACHE_HOME = join(root, 'xdg');
    try {
      // "near" lies under a regular file: it can be neither created nor written (as a read-only install, even for root).
      const blocker = join(root, 'read-only-package');
      writeFileSync(blocker, 'not a folder');
      const near = join(blocker, '.cache', 'nrem');
      expect(cacheDirs({ near })).toEqual([near, join(root, 'xdg', 'nrem')]);
      expect(writeCache('f.bin', 'payload', { near })).toBe(join(root, 'xdg', 'nrem'));
      expect(new TextDecoder().decode(readCache('f.bin', { near })!)).toBe('payload');
      // A writable near folder is used first.
      const near2 = join(root, 'pkg', '.cache', 'nrem');
      expect(writeCache('g.bin', 'beside', { near: near2 })).toBe(near2);
    } finally {
      delete process.env.XDG_CACHE_HOME;
    }
  });
});

describe('parsed IDX folders through the cache', () => {
  it('the second load reads the cache entry and gives the same rows and hash', async () => {
    const dir = idxDir(3);
    const a = loadIdxDir(dir, 'small');
    const files = readdirSync(process.env.NREM_CACHE_DIR!);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^idx-[0-9a-f]{32}\.nremdata$/);
    // A hit leaves the entry as it was (a miss would write it again, with a fresh temporary file and rename).
    const entry = join(process.env.NREM_CACHE_DIR!, files[0]);
    const before = readFileSync(entry);
    const ino = statSync(entry).ino;
    const b = loadIdxDir(dir, 'small');
    expect(readFileSync(entry).equals(before)).toBe(true);
    expect(statSync(entry).ino).toBe(ino);
    for (const k of ['train', 'test'] as const) {
      expect(b[k].x).toEqual(a[k].x);
      expect(b[k].y).toEqual(a[k].y);
      expect(b[k].n).toBe(a[k].n);
      expect(b[k].shape).toEqual([4, 3]);
    }
    expect(a.train.x[1]).toBe(Math.fround(40 / 255));
    expect(b.train.datasetSha256).toBe(a.train.datasetSha256);
    expect(a.train.datasetSha256).toBe(await rowsHash(a.train));
  });

  it('a damaged entry is ignored: the files are parsed again and the entry rewritten', () => {
    const dir = idxDir(5);
    const a = loadIdxDir(dir, 'small');
    const entry = join(process.env.NREM_CACHE_DIR!, readdirSync(process.env.NREM_CACHE_DIR!)[0]);
    const bytes = readFileSync(entry);
    bytes[bytes.length - 20] ^= 0xff; // a pixel of the test images
    writeFileSync(entry, bytes);
    const b = loadIdxDir(dir, 'small');
    expect(b.test.x).toEqual(a.test.x);
    expect(decodeEntry(readFileSync(entry))).not.toBeNull();
  });

  it('a stale entry (the files changed since) is not used', () => {
    const dir = idxDir(7);
    const a = loadIdxDir(dir, 'small');
    // New pixel values in the training images, same size; a different modification time.
    const px = Uint8Array.from({ length: 12 * 12 }, () => 200);
    idx(join(dir, 'train-images-idx3-ubyte'), [12, 4, 3], px);
    utimesSync(join(dir, 'train-images-idx3-ubyte'), new Date(), new Date(Date.now() + 5000));
    const b = loadIdxDir(dir, 'small');
    expect(b.train.x[0]).toBe(Math.fround(200 / 255));
    expect(b.train.datasetSha256).not.toBe(a.train.datasetSha256);
    expect(readdirSync(process.env.NREM_CACHE_DIR!)).toHaveLength(1); // replaced, not piled up
  });
});
