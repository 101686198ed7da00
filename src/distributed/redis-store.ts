/**
 * The unit store in Redis (`--store redis`): the same records and payloads as the folder
 * store, as Redis values under their content key —
 *   PREFIX:rec:<kind>-<key>          the record (JSON, with its checksum)
 *   PREFIX:file:<kind>-<key>.<ext>   a payload (bytes: an ONNX network, …)
 * A unit is saved in one MULTI/EXEC transaction (payloads and record together), so a reader
 * sees the whole unit or nothing. Every worker that reaches Redis reaches the store.
 */
import { Redis } from 'ioredis';
import { checkPayload, checkRecord, sealRecord, stemOf, type NewRecord, type Payload, type ReadOptions, type ReadResult, type Store, type StoreLocation, type UnitRecord } from '../experiments/store.js';
import { parseRedisUrl, RedisError, type RedisTarget } from './redis.js';

export const DEFAULT_STORE_PREFIX = 'nrem:store';

export class RedisStore implements Store {
  readonly location: StoreLocation;
  private readonly target: RedisTarget;
  private readonly client: Redis;
  private readonly prefix: string;

  constructor(url: string, prefix = DEFAULT_STORE_PREFIX) {
    this.target = parseRedisUrl(url, '--store');
    this.prefix = prefix;
    this.location = { type: 'redis', url, prefix };
    // Commands fail (instead of queueing for ever) when Redis is gone: the caller names the URL.
    this.client = new Redis({ ...this.target.options, maxRetriesPerRequest: 2, connectTimeout: 3000, retryStrategy: (n) => Math.min(200 * n, 1000) });
    this.client.on('error', () => {
      /* surfaced by the failing command */
    });
  }

  describe(): string {
    return `${this.target.display} (keys ${this.prefix}:*)`;
  }

  where(file: string): string {
    return `${this.target.display} key ${this.fileKey(file)}`;
  }

  stem(kind: string, key: string): string {
    return stemOf(kind, key);
  }

  private recKey(kind: string, key: string): string {
    return `${this.prefix}:rec:${stemOf(kind, key)}`;
  }

  private fileKey(file: string): string {
    return `${this.prefix}:file:${file}`;
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw new RedisError(`store ${this.target.display}: ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async read<T>(kind: string, key: string, opts: ReadOptions = {}): Promise<ReadResult<T>> {
    const rk = this.recKey(kind, key);
    const text = await this.call('reading a record', () => this.client.get(rk));
    if (text === null) return { status: 'missing' };
    const r = checkRecord<T>(text, kind, key, `${this.target.display} key ${rk}`);
    if (r.status !== 'ok') return r;
    for (const f of r.record.files) {
      const fk = this.fileKey(f);
      if (opts.payloads === 'size') {
        const n = await this.call('reading a payload size', () => this.client.strlen(fk));
        if (n !== r.record.checksum!.sizes[f]) return { status: 'bad', reason: n === 0 ? 'the payload is missing' : 'the payload has another size than its record says', file: this.where(f) };
        continue;
      }
      const data = await this.call('reading a payload', () => this.client.getBuffer(fk));
      try {
        checkPayload(r.record, f, data ?? undefined, this.where(f));
      } catch {
        return { status: 'bad', reason: data ? 'the payload does not match its checksum (truncated or changed since it was written)' : 'the payload is missing', file: this.where(f) };
      }
    }
    return r;
  }

  async get<T>(kind: string, key: string, opts?: ReadOptions): Promise<UnitRecord<T> | undefined> {
    const r = await this.read<T>(kind, key, opts);
    return r.status === 'ok' ? r.record : undefined;
  }

  async has(kind: string, key: string): Promise<boolean> {
    return (await this.call('polling a record', () => this.client.exists(this.recKey(kind, key)))) === 1;
  }

  async readFile(rec: UnitRecord, file: string): Promise<Uint8Array> {
    const data = await this.call('reading a payload', () => this.client.getBuffer(this.fileKey(file)));
    return checkPayload(rec, file, data ? new Uint8Array(data.buffer, data.byteOffset, data.length) : undefined, this.where(file));
  }

  async save<T>(rec: NewRecord<T>, payloads: Payload[] = []): Promise<UnitRecord<T>> {
    const files = payloads.map((p) => ({ name: `${stemOf(rec.kind, rec.key)}.${p.ext}`, data: p.data }));
    const sealed = sealRecord(rec, files);
    const m = this.client.multi();
    for (const f of files) m.set(this.fileKey(f.name), Buffer.from(f.data.buffer, f.data.byteOffset, f.data.length));
    m.set(this.recKey(rec.kind, rec.key), JSON.stringify(sealed));
    const res = await this.call('saving a unit', () => m.exec());
    const err = res?.find(([e]) => e)?.[0];
    if (!res || err) throw new RedisError(`store ${this.target.display}: saving unit "${rec.label}" failed: ${err?.message ?? 'transaction aborted'}`);
    return sealed;
  }

  async cleanTemp(): Promise<number> {
    return 0; // a MULTI either happened or did not: nothing half-written to clean
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.client.quit(), new Promise((r) => setTimeout(r, 1000).unref())]);
    } catch {
      /* already gone */
    }
    this.client.disconnect();
  }
}
