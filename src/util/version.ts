/** The version of the installed nrem package (from its package.json, source or dist tree). */
import { createRequire } from 'node:module';

let cached: string | undefined;

export function nremVersion(): string {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  for (const p of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version: string };
      if (pkg.name === 'nrem') return (cached = pkg.version);
    } catch {
      /* next */
    }
  }
  return (cached = 'unknown');
}
