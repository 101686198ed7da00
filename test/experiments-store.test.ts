import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnitStore, canonicalJson, unitKey } from '../src/experiments/store.js';
import { writeAtomicSync } from '../src/util/atomic.js';
const writeAtomic = (p: string, d: string) => writeAtomicSync(p, d, { mkdir: true });

describe('unit keys', () => {
  it('do not depend on key order, and change with params and inputs', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    const k = unitKey('train', { a: 1, b: 2 }, ['x']);
    expect(unitKey('train', { b: 2, a: 1 }, ['x'])).toBe(k);
    expect(unitKey('train', { a: 1, b: 3 }, ['x'])).not.toBe(k);
    expect(unitKey('train', { a: 1, b: 2 }, ['y'])).not.toBe(k);
    expect(unitKey('sleep', { a: 1, b: 2 }, ['x'])).not.toBe(k);
    expect(k).toMatch(/^[0-9a-f]{20}$/);
  });
});

describe('UnitStore', () => {
  it('counts a unit as finished only once its record is written, and only while its payload exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrem-store-'));
    try {
      const store = new UnitStore(dir);
      const key = unitKey('train', { seed: 1 });
      expect(store.get('train', key)).toBeUndefined();
      const f = store.putFile('train', key, 'onnx', new Uint8Array([1, 2, 3]));
      expect(store.get('train', key)).toBeUndefined(); // payload alone is not a finished unit
      store.finish({ key, kind: 'train', label: 't', params: { seed: 1 }, inputs: [], files: [f], wallSeconds: 1, finishedAt: '', value: { acc: 0.5 } });
      expect(store.get<{ acc: number }>('train', key)?.value.acc).toBe(0.5);
      expect(readdirSync(store.dir).filter((x) => x.endsWith('.tmp'))).toEqual([]);
      rmSync(join(store.dir, f));
      expect(store.get('train', key)).toBeUndefined(); // lost payload: redo
      // A torn record (killed mid-write without the atomic rename) is not finished either.
      writeFileSync(store.path('train', key, 'json'), '{"key":');
      expect(store.get('train', key)).toBeUndefined();
      writeFileSync(join(store.dir, 'x.json.123.tmp'), 'partial');
      expect(store.cleanTemp()).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writeAtomic replaces a file in one step', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrem-store-'));
    try {
      const p = join(dir, 'a', 'b.json');
      writeAtomic(p, 'one');
      writeAtomic(p, 'two');
      expect(readdirSync(join(dir, 'a'))).toEqual(['b.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
