/**
 * Content hash of a data set's rows, the identity provenance records (src/model/provenance.ts):
 *   sha256( "nrem-rows-v1 n×dims c" · x as little-endian float32 · y as little-endian int32 )
 * computed in 16 MiB pieces with a turn of the event loop between them.
 */
import { createHash } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import type { Dataset } from './dataset.js';

const PIECE = 16 << 20;

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

type Rows = Pick<Dataset, 'x' | 'y' | 'n' | 'dims' | 'classes'>;

function parts(d: Rows): Uint8Array[] {
  return [new TextEncoder().encode(`nrem-rows-v1 ${d.n}x${d.dims} ${d.classes}\n`), bytesOf(d.x.subarray(0, d.n * d.dims)), bytesOf(d.y.subarray(0, d.n))];
}

/** The hash in one go (data loading, where the rows were just parsed: once per cache entry). */
export function rowsHashSync(d: Rows): string {
  const h = createHash('sha256');
  for (const p of parts(d)) h.update(p);
  return h.digest('hex');
}

export async function rowsHash(d: Rows): Promise<string> {
  const h = createHash('sha256');
  for (const part of parts(d))
    for (let o = 0; o < part.length; o += PIECE) {
      h.update(part.subarray(o, Math.min(part.length, o + PIECE)));
      if (part.length > PIECE) await turn();
    }
  return h.digest('hex');
}
