/**
 * Reader for the IDX format of the original MNIST files (raw or gzip):
 *   magic: 0x00 0x00 <type 0x08 = ubyte> <ndims>, then ndims big-endian u32 sizes, then data.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { FormatError } from '../errors.js';

export interface IdxTensor {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(buf: Uint8Array, file: string): IdxTensor {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new FormatError(`${file}: corrupt or truncated gzip data (${(err as Error).message})`);
    }
  }
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
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new FormatError(`${file}: cannot read (${(err as Error).message})`, { cause: err });
  }
  return parseIdx(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
}
