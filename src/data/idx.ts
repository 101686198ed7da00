/**
 * Reader for the IDX format of the original MNIST files (raw or gzip):
 *   magic: 0x00 0x00 <type 0x08 = ubyte> <ndims>, then ndims big-endian u32 sizes, then data.
 * A gzip file is inflated only up to the size its IDX header declares (the header is read
 * from the first inflated bytes; zlib's maxOutputLength stops a decompression bomb at that
 * size), and a declared size that deflate cannot reach from the compressed bytes (ratio
 * above 1,032:1) or that exceeds the memory available is refused before inflating.
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants as zc, gunzipSync } from 'node:zlib';
import { FormatError } from '../errors.js';
import { checkMemory } from '../util/memory.js';
import { readInputFileSync } from '../util/files.js';

export interface IdxTensor {
  dims: number[];
  data: Uint8Array;
}

/** Deflate never expands more than ≈ 1,032 : 1 (RFC 1951 blocks of 258-byte matches). */
const MAX_DEFLATE_RATIO = 1100;

function gunzipIdx(gz: Uint8Array, file: string): Uint8Array {
  const corrupt = (err: unknown) => new FormatError(`${file}: corrupt or truncated gzip data (${(err as Error).message})`, { cause: err });
  // The header from a prefix of the stream (partial output, no error for the missing rest).
  let head: Uint8Array = new Uint8Array(0);
  for (let k = 256; ; k *= 4) {
    try {
      head = gunzipSync(gz.subarray(0, Math.min(k, gz.length)), { finishFlush: zc.Z_SYNC_FLUSH });
    } catch (err) {
      throw corrupt(err);
    }
    if ((head.length >= 4 && head.length >= 4 + 4 * head[3]) || k >= gz.length) break;
  }
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) throw new FormatError(`${file}: not an IDX file (wrong magic number)`);
  if (head[2] !== 0x08) throw new FormatError(`${file}: IDX element type 0x${head[2].toString(16)} is not unsigned byte (0x08)`);
  const nd = head[3];
  if (nd < 1 || nd > 4) throw new FormatError(`${file}: IDX file with ${nd} dimensions`);
  if (head.length < 4 + 4 * nd) throw new FormatError(`${file}: truncated IDX header`);
  const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let declared = 4 + 4 * nd;
  let count = 1;
  for (let i = 0; i < nd; i++) count *= hv.getUint32(4 + 4 * i, false);
  declared += count;
  if (declared > gz.length * MAX_DEFLATE_RATIO)
    throw new FormatError(`${file}: the IDX header declares ${declared} bytes, more than ${gz.length} bytes of gzip data can hold (corrupt header)`);
  checkMemory(declared, `${file}: inflating`, 'the size its IDX header declares');
  if (declared >= bufferConstants.MAX_LENGTH) throw new FormatError(`${file}: the IDX header declares ${declared} bytes, more than the largest buffer`);
  try {
    return gunzipSync(gz, { maxOutputLength: declared });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new FormatError(`${file}: gzip data inflates to more than the ${declared} bytes its IDX header declares`, { cause: err });
    throw corrupt(err);
  }
}

export function parseIdx(buf: Uint8Array, file: string): IdxTensor {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipIdx(buf, file);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0)
    throw new FormatError(`${file}: not an IDX file (wrong magic number)`);
  if (buf[2] !== 0x08) throw new FormatError(`${file}: IDX element type 0x${buf[2].toString(16)} is not unsigned byte (0x08)`);
  const nd = buf[3];
  if (nd < 1 || nd > 4) throw new FormatError(`${file}: IDX file with ${nd} dimensions`);
  if (buf.length < 4 + 4 * nd) throw new FormatError(`${file}: truncated IDX header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const off = 4 + 4 * nd;
  if (buf.length < off + count)
    throw new FormatError(`${file}: truncated: header promises ${count} bytes of data (${dims.join('×')}) but ${buf.length - off} are present`);
  return { dims, data: buf.subarray(off, off + count) };
}

export function readIdx(file: string): IdxTensor {
  return parseIdx(readInputFileSync(file, { what: 'IDX data' }), file);
}
