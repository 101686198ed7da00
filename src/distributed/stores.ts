/** Opening stores: the one a job names (on a worker), and the one a command's --store chooses. */
import { ValueError } from '../errors.js';
import { DirStore, type Store, type StoreLocation } from '../experiments/store.js';
import { RedisStore } from './redis-store.js';

export function openStore(loc: StoreLocation): Store {
  // A worker never creates the folder store: a missing folder means it is not shared with this machine.
  return loc.type === 'dir' ? new DirStore(loc.path, { create: false }) : new RedisStore(loc.url, loc.prefix);
}

/**
 * --store of a command: "dir" (default: the folder `root`/units), "redis" (the --redis URL's
 * Redis) or a redis:// URL of its own.
 */
export function storeFor(choice: string | undefined, root: string, redis?: string): Store {
  const c = choice ?? 'dir';
  if (c === 'dir') return new DirStore(root);
  if (c === 'redis') {
    if (!redis) throw new ValueError('Expected --redis URL with --store redis (or give the store its own URL: --store redis://host:port)');
    return new RedisStore(redis);
  }
  if (/^rediss?:\/\//.test(c)) return new RedisStore(c);
  throw new ValueError(`Expected dir, redis or a redis:// URL for --store but received ${JSON.stringify(c)}`);
}
