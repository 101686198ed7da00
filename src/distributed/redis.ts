/**
 * Reaching Redis: URL parsing (redis://[user:password@]host[:port][/db], rediss:// for TLS),
 * a fail-fast check before any work starts (a clear error naming the URL within a few
 * seconds instead of ioredis's endless reconnecting), and a watch that reports a Redis lost
 * in the middle of a run.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';
import { NremError, ValueError } from '../errors.js';

/** Redis is unreachable, was lost, or is too old. */
export class RedisError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_REDIS', message, options);
  }
}

export interface RedisTarget {
  /** The URL as given. */
  url: string;
  /** The URL with any password hidden, for messages. */
  display: string;
  options: RedisOptions;
}

export function parseRedisUrl(url: string, what = '--redis'): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValueError(`Expected a Redis URL like redis://127.0.0.1:6379 for ${what} but received ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new ValueError(`Expected a redis:// or rediss:// URL for ${what} but received ${JSON.stringify(url)}`);
  if (!u.hostname) throw new ValueError(`Expected a host in the Redis URL for ${what} but received ${JSON.stringify(url)}`);
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText ? Number(dbText) : 0;
  if (!Number.isInteger(db) || db < 0) throw new ValueError(`Expected a database number after the host in ${JSON.stringify(url)} (${what})`);
  const options: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const display = u.password ? url.replace(`:${u.password}@`, ':***@') : url;
  return { url, display, options };
}

/** BullMQ's connection options for a target (blocking commands wait for ever: no per-request retry limit). */
export function bullConnection(t: RedisTarget): ConnectionOptions {
  const o = t.options;
  return { host: o.host, port: o.port, db: o.db, username: o.username, password: o.password, ...(o.tls ? { tls: o.tls } : {}), maxRetriesPerRequest: null };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/**
 * Connects once, asks PING and the server version, and closes. Rejects with RedisError
 * naming the URL when nothing answers within `timeoutMs`, and when the server is older
 * than Redis 5 (BullMQ's minimum).
 */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<{ version: string }> {
  const t = parseRedisUrl(url);
  const client = new Redis({
    ...t.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {
    /* reported by connect() below */
  });
  try {
    const version = await Promise.race([
      (async () => {
        await client.connect();
        await client.ping();
        const info = await client.info('server');
        return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
      })(),
      delay(timeoutMs + 500).then(() => {
        throw new Error(`no answer within ${((timeoutMs + 500) / 1000).toFixed(1)} s`);
      }),
    ]);
    if (Number(version.split('.')[0]) < 5) throw new RedisError(`Redis at ${t.display} is version ${version}; nrem's queue (BullMQ) needs Redis 5 or newer`);
    return { version };
  } catch (err) {
    if (err instanceof RedisError) throw err;
    throw new RedisError(`cannot reach Redis at ${t.display}: ${(err as Error).message} (is redis-server running there and reachable from this machine?)`, { cause: err });
  } finally {
    client.disconnect();
  }
}

/**
 * Pings Redis every `everyMs`; calls `onLost` once when no ping has succeeded for
 * `lostAfterMs`. Returns a function that stops the watch.
 */
export function watchRedis(url: string, onLost: (err: RedisError) => void, opts: { everyMs?: number; lostAfterMs?: number } = {}): () => void {
  const t = parseRedisUrl(url);
  const everyMs = opts.everyMs ?? 1000;
  const lostAfterMs = opts.lostAfterMs ?? 5000;
  const client = new Redis({ ...t.options, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 2000, retryStrategy: () => 500 });
  let lastError = 'no answer';
  client.on('error', (e: Error) => (lastError = e.message));
  let lastOk = Date.now();
  let stopped = false;
  const timer = setInterval(() => {
    client.ping().then(
      () => (lastOk = Date.now()),
      (e: Error) => (lastError = e.message),
    );
    if (!stopped && Date.now() - lastOk > lostAfterMs) {
      stopped = true;
      clearInterval(timer);
      client.disconnect();
      onLost(new RedisError(`lost Redis at ${t.display}: ${lastError} (no answer for ${(lostAfterMs / 1000).toFixed(0)} s); finished units are kept in the store — run the same command again once Redis is back`));
    }
  }, everyMs);
  timer.unref();
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    client.disconnect();
  };
}
