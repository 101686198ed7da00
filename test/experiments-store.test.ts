/**
 * The unit store: content keys, atomic saves, and the checksum every record carries — a
 * record edited by hand, a truncated or missing payload, or a record without a checksum is
 * reported as bad (naming the file), in the folder store and in the Redis store alike; and
 * the runner recomputes exactly the bad unit and what depends on it, with a warning naming
 * the unit and the file, even when a run was cut short before the dependents ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { DirStore, StoreIntegrityError, canonicalJson, unitKey, type Store } from '../src/experiments/store.js';
import { RedisStore } from '../src/distributed/redis-store.js';
import { writeAtomicSync } from '../src/util/atomic.js';
import { runExperiment } from '../src/experiments/runner.js';
import { buildGraph } from '../src/experiments/graph.js';
import { realOps } from '../src/experiments/ops-real.js';
import type { RunEvent } from '../src/experiments/progress.js';
import { AbortError } from '../src/errors.js';
import { REDIS_SERVER, SKIP_MESSAGE, startRedis, type RedisServer } from './helpers/redis-server.js';
import { microPatches, withoutTiming } from './helpers/small-specs.js';

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

/** What a test needs to damage a store behind its back. */
interface Harness {
  store: Store;
  rawRecord(kind: string, key: string): Promise<string>;
  writeRecord(kind: string, key: string, text: string): Promise<void>;
  writeFile(file: string, data: Uint8Array): Promise<void>;
  removeFile(file: string): Promise<void>;
}

const key = unitKey('train', { seed: 1 });
const bytes = new Uint8Array(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));
const save = (store: Store) =>
  store.save({ key, kind: 'train', label: 'seed 1 / control', params: { seed: 1 }, inputs: [], wallSeconds: 1, finishedAt: 'now', value: { acc: 0.5, nan: NaN } }, [{ ext: 'onnx', data: bytes }]);

function contract(name: string, make: () => Promise<Harness>) {
  describe(`${name}: checksums`, () => {
    it('a unit counts once saved; its record and payload verify; NaN is stored as null', async () => {
      const h = await make();
      expect((await h.store.read('train', key)).status).toBe('missing');
      const rec = await save(h.store);
      expect(rec.checksum!.files[rec.files[0]]).toMatch(/^[0-9a-f]{64}$/);
      const r = await h.store.read<{ acc: number; nan: number | null }>('train', key);
      expect(r.status).toBe('ok');
      if (r.status === 'ok') expect(r.record.value).toEqual({ acc: 0.5, nan: null });
      expect(await h.store.readFile(rec, rec.files[0])).toEqual(bytes);
      expect(await h.store.has('train', key)).toBe(true);
    });

    it('a truncated payload is bad (naming the file); reading it throws a StoreIntegrityError naming the unit and the file', async () => {
      const h = await make();
      const rec = await save(h.store);
      await h.writeFile(rec.files[0], bytes.subarray(0, 100));
      const r = await h.store.read('train', key);
      expect(r).toMatchObject({ status: 'bad', reason: expect.stringMatching(/checksum/) });
      if (r.status === 'bad') expect(r.file).toContain(rec.files[0]);
      expect(await h.store.read('train', key, { payloads: 'size' })).toMatchObject({ status: 'bad' });
      const err = await h.store.readFile(rec, rec.files[0]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreIntegrityError);
      expect((err as Error).message).toMatch(new RegExp(`unit "seed 1 / control": payload .*${rec.files[0]}.* does not match its checksum`));
    });

    it('a payload of the right size with other bytes passes the size check and fails the hash check', async () => {
      const h = await make();
      const rec = await save(h.store);
      const flipped = bytes.slice();
      flipped[10] ^= 1;
      await h.writeFile(rec.files[0], flipped);
      expect((await h.store.read('train', key, { payloads: 'size' })).status).toBe('ok');
      expect((await h.store.read('train', key)).status).toBe('bad');
    });

    it('a record edited by hand (still valid JSON), one without a checksum, and a missing payload are bad', async () => {
      const h = await make();
      const rec = await save(h.store);
      const text = await h.rawRecord('train', key);
      await h.writeRecord('train', key, text.replace('"acc": 0.5', '"acc": 0.708').replace('"acc":0.5', '"acc":0.708'));
      expect(await h.store.read('train', key)).toMatchObject({ status: 'bad', reason: expect.stringMatching(/does not match its checksum/) });
      const noSum = JSON.parse(text);
      delete noSum.checksum;
      await h.writeRecord('train', key, JSON.stringify(noSum));
      expect(await h.store.read('train', key)).toMatchObject({ status: 'bad', reason: expect.stringMatching(/no checksum/) });
      await h.writeRecord('train', key, '{"key":');
      expect(await h.store.read('train', key)).toMatchObject({ status: 'bad', reason: expect.stringMatching(/not valid JSON/) });
      await h.writeRecord('train', key, text);
      expect((await h.store.read('train', key)).status).toBe('ok');
      await h.removeFile(rec.files[0]);
      expect(await h.store.read('train', key)).toMatchObject({ status: 'bad', reason: expect.stringMatching(/missing/) });
    });
  });
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'nrem-store-'));
  dirs.push(d);
  return d;
};

contract('folder store', async () => {
  const store = new DirStore(tmp());
  return {
    store,
    rawRecord: async (kind, k) => readFileSync(store.path(kind, k, 'json'), 'utf8'),
    writeRecord: async (kind, k, text) => writeFileSync(store.path(kind, k, 'json'), text),
    writeFile: async (file, data) => writeFileSync(join(store.dir, file), data),
    removeFile: async (file) => rmSync(join(store.dir, file)),
  };
});

describe.skipIf(!REDIS_SERVER)('Redis store', () => {
  let redis: RedisServer;
  let client: Redis;
  let n = 0;
  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
  });
  afterAll(async () => redis?.stop());
  contract('Redis store', async () => {
    const prefix = `t${++n}`;
    const store = new RedisStore(redis.url, prefix);
    return {
      store,
      rawRecord: async (kind, k) => (await client.get(`${prefix}:rec:${kind}-${k}`))!,
      writeRecord: async (kind, k, text) => void (await client.set(`${prefix}:rec:${kind}-${k}`, text)),
      writeFile: async (file, data) => void (await client.set(`${prefix}:file:${file}`, Buffer.from(data))),
      removeFile: async (file) => void (await client.del(`${prefix}:file:${file}`)),
    };
  });
});

if (!REDIS_SERVER) describe('Redis store', () => it.skip(`skipped: ${SKIP_MESSAGE}`, () => {}));

describe('folder store files', () => {
  it('leaves no temp file behind; cleanTemp removes those of a killed writer (only old ones when asked)', async () => {
    const store = new DirStore(tmp());
    await save(store);
    expect(readdirSync(store.dir).filter((x) => x.endsWith('.tmp'))).toEqual([]);
    writeFileSync(join(store.dir, 'x.json.123.tmp'), 'partial');
    expect(await store.cleanTemp(60_000)).toBe(0); // may belong to a writer at work
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(join(store.dir, 'x.json.123.tmp'), old, old);
    expect(await store.cleanTemp(60_000)).toBe(1);
    writeFileSync(join(store.dir, 'y.json.1.tmp'), 'partial');
    expect(await store.cleanTemp()).toBe(1);
  });

  it('writeAtomic replaces a file in one step', () => {
    const p = join(tmp(), 'a', 'b.json');
    writeAtomicSync(p, 'one', { mkdir: true });
    writeAtomicSync(p, 'two', { mkdir: true });
    expect(readdirSync(join(p, '..'))).toEqual(['b.json']);
  });
});

describe('the runner with a store that does not verify', () => {
  const spec = microPatches();
  const nodes = buildGraph(spec);
  const [control] = nodes;
  const logs = (events: RunEvent[]) => events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message);

  it('a run cut short after the control, whose payload is then truncated, recovers: the control is recomputed with a warning naming it and its file', async () => {
    const clean = await runExperiment(spec, { out: tmp(), ops: realOps(), report: false });
    const out = tmp();
    const ac = new AbortController();
    await expect(runExperiment(spec, { out, ops: realOps(), signal: ac.signal, report: false, onEvent: (e) => e.type === 'unit-end' && ac.abort() })).rejects.toBeInstanceOf(AbortError);
    const store = new DirStore(out);
    const file = join(store.dir, `${store.stem(control.kind, control.key)}.onnx`);
    writeFileSync(file, readFileSync(file).subarray(0, 200));
    const events: RunEvent[] = [];
    const r = await runExperiment(spec, { out, ops: realOps(), report: false, onEvent: (e) => events.push(e) });
    expect(logs(events)).toEqual([`store: unit "seed 1 / control" (${file}): the payload does not match its checksum (truncated or changed since it was written); recomputing it`]);
    expect(r.units).toEqual({ computed: nodes.length, reused: 0 });
    expect(withoutTiming(r)).toEqual(withoutTiming(clean));
  });

  it('a truncated payload whose dependents finished: that unit and its dependents are recomputed', async () => {
    const out = tmp();
    const first = await runExperiment(spec, { out, ops: realOps(), report: false });
    const store = new DirStore(out);
    const file = join(store.dir, `${store.stem(control.kind, control.key)}.onnx`);
    writeFileSync(file, readFileSync(file).subarray(0, 200));
    const events: RunEvent[] = [];
    const r = await runExperiment(spec, { out, ops: realOps(), report: false, onEvent: (e) => events.push(e) });
    expect(logs(events)).toEqual([
      `store: unit "seed 1 / control" (${file}): the payload does not match its checksum (truncated or changed since it was written); recomputing it and the ${nodes.length - 1} finished units that depend on it`,
    ]);
    expect(r.units.computed).toBe(nodes.length);
    expect(withoutTiming(r)).toEqual(withoutTiming(first));
  });

  it('a store of an older nrem (records without checksums) is recomputed, a few units named and the rest counted', async () => {
    const out = tmp();
    const first = await runExperiment(spec, { out, ops: realOps(), report: false });
    const store = new DirStore(out);
    for (const n of nodes) {
      const p = store.path(n.kind, n.key, 'json');
      const rec = JSON.parse(readFileSync(p, 'utf8'));
      delete rec.checksum;
      writeFileSync(p, JSON.stringify(rec));
    }
    const events: RunEvent[] = [];
    const r = await runExperiment(spec, { out, ops: realOps(), report: false, onEvent: (e) => events.push(e) });
    const w = logs(events);
    expect(w).toHaveLength(4);
    expect(w[0]).toBe(`store: unit "seed 1 / control" (${store.path(control.kind, control.key, 'json')}): the record has no checksum (written by an older nrem); recomputing it`);
    expect(w[3]).toBe(`store: ${nodes.length - 3} more units in ${store.dir}: the record has no checksum (written by an older nrem); recomputing them and what depends on them`);
    expect(r.units.computed).toBe(nodes.length);
    expect(withoutTiming(r)).toEqual(withoutTiming(first));
  });

  it('a record edited by hand (a curve value changed, still valid JSON) is recomputed alone; results.json keeps the true value', async () => {
    const out = tmp();
    const first = await runExperiment(spec, { out, ops: realOps(), report: false });
    const store = new DirStore(out);
    const noise = nodes.find((n) => n.kind === 'eval-noise' && n.label.endsWith('/ control'))!;
    const p = store.path(noise.kind, noise.key, 'json');
    const rec = JSON.parse(readFileSync(p, 'utf8'));
    rec.value.accuracy[1] = 0.123;
    writeFileSync(p, JSON.stringify(rec, null, 1));
    const events: RunEvent[] = [];
    const r = await runExperiment(spec, { out, ops: realOps(), report: false, onEvent: (e) => events.push(e) });
    expect(logs(events)).toEqual([`store: unit "${noise.label}" (${p}): the record does not match its checksum (changed since it was written); recomputing it`]);
    expect(r.units).toEqual({ computed: 1, reused: nodes.length - 1 });
    expect(withoutTiming(r)).toEqual(withoutTiming(first));
  });
});
