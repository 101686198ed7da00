/**
 * NumPy .npy and .npz files, read and written without dependencies.
 *
 * .npy (format 1.0/2.0/3.0): "\x93NUMPY", major, minor, header length (u16 LE for 1.0,
 * u32 LE for 2.0/3.0), then an ASCII Python dict {'descr': '<f4', 'fortran_order': False,
 * 'shape': (n, d), } padded with spaces and a newline, then the raw data.
 * Supported dtypes: little-endian (or byte-sized) f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1.
 * Fortran order is accepted (transposed on read).
 *
 * .npz: a zip archive of .npy members (np.savez: stored; np.savez_compressed: deflate).
 * The zip is read through its central directory (end record 0x06054b50, entries 0x02014b50;
 * zip64 sizes from extra field 0x0001), and deflated members with zlib.inflateRawSync. Every
 * offset read from the archive is checked against the buffer before it is read, and a
 * member is never inflated past the size its directory entry declares (zlib's
 * maxOutputLength): a decompression bomb is refused at that size, and a declared size
 * larger than the memory available is refused before inflating (src/util/memory.ts).
 */
import { constants as bufferConstants } from 'node:buffer';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { FormatError, UnsupportedError } from '../errors.js';
import { checkMemory } from '../util/memory.js';

export type NpyData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export interface NpyArray {
  shape: number[];
  /** The dtype without byte order, e.g. 'f4', 'u1', 'b1'. */
  dtype: string;
  /** C-order data. */
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const CTORS: Record<string, { new (buf: ArrayBuffer): NpyData; BYTES_PER_ELEMENT: number }> = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  u1: Uint8Array,
  b1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
};

function parseHeader(h: string, file: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(h)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(h)?.[1];
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(h)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined)
    throw new FormatError(`${file}: malformed .npy header ${JSON.stringify(h.trim().slice(0, 120))}`);
  const dims = shape
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) throw new FormatError(`${file}: bad shape entry ${JSON.stringify(s)} in .npy header`);
      return v;
    });
  return { descr, fortran: fortran === 'True', shape: dims };
}

/** Transposes a Fortran-order array into C order (any rank). */
function toCOrder(src: NpyData, shape: number[]): NpyData {
  const n = src.length;
  const dst = new (src.constructor as new (n: number) => NpyData)(n);
  const r = shape.length;
  const cStride = new Array<number>(r).fill(1);
  for (let k = r - 2; k >= 0; k--) cStride[k] = cStride[k + 1] * shape[k + 1];
  const idx = new Array<number>(r).fill(0);
  for (let f = 0; f < n; f++) {
    // f walks Fortran order: the first index fastest.
    let c = 0;
    for (let k = 0; k < r; k++) c += idx[k] * cStride[k];
    dst[c] = src[f];
    for (let k = 0; k < r; k++) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return dst;
}

export function parseNpy(buf: Uint8Array, file: string): NpyArray {
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) throw new FormatError(`${file}: not a .npy file (wrong magic number)`);
  const major = buf[6];
  if (major < 1 || major > 3) throw new UnsupportedError(`${file}: .npy format version ${major}.${buf[7]}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlenSize = major === 1 ? 2 : 4;
  if (buf.length < 8 + hlenSize) throw new FormatError(`${file}: truncated .npy header`);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + hlenSize + hlen;
  if (buf.length < start) throw new FormatError(`${file}: truncated .npy header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(8 + hlenSize, start));
  const { descr, fortran, shape } = parseHeader(header, file);
  const m = /^([<>|=]?)([a-zA-Z]\d+|\?)$/.exec(descr);
  const dtype = m ? (m[2] === '?' ? 'b1' : m[2]) : descr;
  const Ctor = CTORS[dtype];
  if (!m || !Ctor) throw new UnsupportedError(`${file}: .npy dtype ${JSON.stringify(descr)} (supported: float32/64, integers, bool)`);
  if (m[1] === '>' && Ctor.BYTES_PER_ELEMENT > 1) throw new UnsupportedError(`${file}: big-endian .npy data (${descr})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = count * Ctor.BYTES_PER_ELEMENT;
  if (buf.length - start < bytes)
    throw new FormatError(`${file}: truncated: shape (${shape.join(', ')}) of ${descr} needs ${bytes} bytes of data but ${buf.length - start} are present`);
  const copy = new Uint8Array(bytes); // aligned and owned (a Buffer's slice() would share the pool)
  copy.set(buf.subarray(start, start + bytes));
  let data = new Ctor(copy.buffer);
  if (fortran && shape.length > 1) data = toCOrder(data, shape);
  return { shape, dtype, data };
}

/** Encodes a C-order array as .npy 1.0 (little-endian). */
export function encodeNpy(data: NpyData, shape: number[]): Uint8Array {
  const code = Object.entries(CTORS).find(([k, c]) => k !== 'b1' && data instanceof c)![0];
  const descr = (code.endsWith('1') ? '|' : '<') + code;
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shp}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/** Reads every member of a zip archive (stored or deflated) through its central directory. */
export function parseZip(buf: Uint8Array, file: string): ZipEntry[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--)
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new FormatError(`${file}: not a zip/.npz file, or truncated (no end-of-central-directory record)`);
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === 0x07064b50) {
    const z64 = Number(view.getBigUint64(eocd - 20 + 8, true));
    if (z64 + 56 > buf.length || view.getUint32(z64, true) !== 0x06064b50) throw new FormatError(`${file}: bad zip64 end record`);
    count = Number(view.getBigUint64(z64 + 32, true));
    cdOffset = Number(view.getBigUint64(z64 + 48, true));
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let e = 0; e < count; e++) {
    if (p + 46 > buf.length || view.getUint32(p, true) !== 0x02014b50) throw new FormatError(`${file}: corrupt zip central directory`);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let csize = view.getUint32(p + 20, true);
    let usize = view.getUint32(p + 24, true);
    const nlen = view.getUint16(p + 28, true);
    const xlen = view.getUint16(p + 30, true);
    const clen = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    const xEnd = p + 46 + nlen + xlen;
    if (xEnd + clen > buf.length) throw new FormatError(`${file}: corrupt zip central directory (entry ${e} runs past the end of the file)`);
    const name = new TextDecoder().decode(buf.subarray(p + 46, p + 46 + nlen));
    // zip64 extra field: the 0xFFFFFFFF fields, in order usize, csize, offset.
    for (let x = p + 46 + nlen; x + 4 <= xEnd; ) {
      const id = view.getUint16(x, true);
      const sz = view.getUint16(x + 2, true);
      const fEnd = x + 4 + sz;
      if (fEnd > xEnd) throw new FormatError(`${file}: corrupt zip extra field in ${name} (${sz} bytes declared, ${xEnd - x - 4} left)`);
      if (id === 0x0001) {
        let q = x + 4;
        const u64 = (what: string) => {
          if (q + 8 > fEnd) throw new FormatError(`${file}: zip64 extra field of ${name} too short for its ${what}`);
          const v = Number(view.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = u64('size');
        if (csize === 0xffffffff) csize = u64('compressed size');
        if (local === 0xffffffff) local = u64('offset');
      }
      x = fEnd;
    }
    p = xEnd + clen;
    if (local + 30 > buf.length || view.getUint32(local, true) !== 0x04034b50) throw new FormatError(`${file}: corrupt zip member ${name}`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + csize > buf.length) throw new FormatError(`${file}: truncated zip member ${name}`);
    const raw = buf.subarray(start, start + csize);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      checkMemory(usize, `${file}: inflating ${name}`, 'the size its zip directory declares');
      if (usize >= bufferConstants.MAX_LENGTH) throw new UnsupportedError(`${file}: ${name} declares ${usize} bytes, more than the largest buffer (${bufferConstants.MAX_LENGTH})`);
      try {
        // One byte more than declared: a member that inflates further fails here, at that size.
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, usize + 1) });
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
          throw new FormatError(`${file}: ${name} inflates to more than the ${usize} bytes its zip directory declares`, { cause: err });
        throw new FormatError(`${file}: corrupt deflate data in ${name} (${(err as Error).message})`, { cause: err });
      }
    } else throw new UnsupportedError(`${file}: zip compression method ${method} in ${name} (only stored and deflate)`);
    if (data.length !== usize) throw new FormatError(`${file}: ${name} inflates to ${data.length} bytes, the directory says ${usize}`);
    if (crc32(data) !== crc) throw new FormatError(`${file}: CRC mismatch in ${name} (corrupt archive)`);
    entries.push({ name, data });
  }
  return entries;
}

/** Reads an .npz archive: array name (member name without .npy) → array. */
export function parseNpz(buf: Uint8Array, file: string): Map<string, NpyArray> {
  const out = new Map<string, NpyArray>();
  for (const e of parseZip(buf, file)) {
    if (!e.name.endsWith('.npy')) continue;
    const key = e.name.slice(0, -4);
    out.set(key, parseNpy(e.data, `${file}[${key}]`));
  }
  return out;
}

/** Writes a zip archive (deflated members when `compress`), e.g. an .npz of encodeNpy() outputs. */
export function encodeZip(entries: ZipEntry[], compress = true): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const body = compress ? deflateRawSync(e.data) : e.data;
    const crc = crc32(e.data);
    const lh = new Uint8Array(30 + name.length);
    const lv = new DataView(lh.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, compress ? 8 : 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    lh.set(name, 30);
    const ch = new Uint8Array(46 + name.length);
    const cv = new DataView(ch.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, compress ? 8 : 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    ch.set(name, 46);
    parts.push(lh, body);
    central.push(ch);
    offset += lh.length + body.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return Buffer.concat([...parts, ...central, end]);
}
