/**
 * Every failure typed and fast (issue 18 §6, §7, §9), through the library: the NPZ zip64
 * extra field that read past the buffer, decompression bombs (IDX .gz, NPZ) stopped at the
 * size the container declares, endless files (/dev/zero), values that are not finite in
 * float32 (CSV 1e39, NPY NaN), output folders that cannot be written, allocations larger
 * than the memory available, oversized epsilon lists, and out-of-range sleep parameters.
 * "Fast" is measured in CPU time of this process (independent of the machine's load): each
 * case must end within 2 s.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createNetwork,
  encodeNpy,
  encodeZip,
  fgsmSweep,
  FormatError,
  fromNative,
  loadDataset,
  loadFeatures,
  loadIdxDir,
  loadOnnx,
  loadPresetFile,
  MemoryError,
  NativeError,
  Network,
  OutputError,
  parseNpz,
  PGD,
  resolveParameters,
  saveOnnx,
  train,
  recipeOptions,
  ValueError,
  generatePatches,
} from '../src/index.js';
import { checkMemory, checkTrainingMemory, memoryBudget, parseBytes } from '../src/util/memory.js';
import { prepareOutputDir, prepareOutputFile, readInputFileSync } from '../src/util/files.js';

const tmp = mkdtempSync(join(tmpdir(), 'nrem-hardening-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs f, expects it to throw/reject with `cls`, and returns the CPU seconds it took. */
async function typedAndFast(f: () => unknown, cls: new (...a: never[]) => Error, pattern?: RegExp): Promise<Error> {
  const c0 = process.cpuUsage();
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  expect(err, 'it must fail').toBeInstanceOf(cls);
  if (pattern) expect((err as Error).message).toMatch(pattern);
  expect(cpu, `CPU seconds for: ${(err as Error).message}`).toBeLessThan(2);
  return err as Error;
}

function withLimit<T>(limit: string, f: () => T): T {
  const saved = process.env.NREM_MEMORY_LIMIT;
  process.env.NREM_MEMORY_LIMIT = limit;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.NREM_MEMORY_LIMIT;
    else process.env.NREM_MEMORY_LIMIT = saved;
  }
}

describe('NPZ', () => {
  const x = encodeNpy(new Float32Array(8).fill(0.5), [2, 4]);
  const y = encodeNpy(Int32Array.from([0, 1]), [2]);

  it('a zip64 extra field longer than its entry is a FormatError naming the member (was a RangeError without code)', async () => {
    const zip = encodeZip([{ name: 'x.npy', data: x }, { name: 'y.npy', data: y }], false);
    const v = new DataView(zip.buffer, zip.byteOffset);
    let cd = -1;
    for (let i = 0; i + 4 <= zip.length; i++) if (v.getUint32(i, true) === 0x02014b50) (cd = i), (i = zip.length);
    v.setUint32(cd + 24, 0xffffffff, true); // usize in the zip64 field
    v.setUint16(cd + 30, 4, true); // an extra field of 4 bytes …
    v.setUint16(cd + 46 + 5, 0x0001, true); // … id 0x0001 (over the name's bytes) …
    v.setUint16(cd + 46 + 7, 0xffff, true); // … claiming 65,535 bytes
    const e = await typedAndFast(() => parseNpz(zip, 'bad.npz'), FormatError, /bad\.npz/);
    expect(e.message).toMatch(/extra field|central directory/);
  });

  it('a member that inflates past its declared size stops there (a bomb is refused fast)', async () => {
    const small = encodeZip([{ name: 'x.npy', data: x }, { name: 'y.npy', data: y }], true);
    // Same archive, but member x inflates to 64 MiB while its directory says 160 bytes.
    const big = encodeZip([{ name: 'x.npy', data: new Uint8Array(64 << 20) }, { name: 'y.npy', data: y }], true);
    const pv = new DataView(big.buffer, big.byteOffset);
    for (let i = 0; i + 46 <= big.length; i++)
      if (pv.getUint32(i, true) === 0x02014b50 && pv.getUint32(i + 42, true) === 0) pv.setUint32(i + 24, x.length, true);
    const file = join(tmp, 'bomb.npz');
    writeFileSync(file, big);
    await typedAndFast(() => loadFeatures(file), FormatError, /x\.npy inflates to more than the 160 bytes its zip directory declares/);
    expect(parseNpz(small, 'ok.npz').get('x')!.shape).toEqual([2, 4]);
  });

  it('a declared size beyond the memory available is refused before inflating', async () => {
    const zip = encodeZip([{ name: 'x.npy', data: x }, { name: 'y.npy', data: y }], true);
    const v = new DataView(zip.buffer, zip.byteOffset);
    for (let i = 0; i + 46 <= zip.length; i++) if (v.getUint32(i, true) === 0x02014b50) v.setUint32(i + 24, 3e9, true);
    await typedAndFast(() => withLimit('1GiB', () => parseNpz(zip, 'huge.npz')), MemoryError, /huge\.npz: inflating x\.npy needs about 2\.79 GiB.*NREM_MEMORY_LIMIT/);
  });
});

describe('IDX', () => {
  function idx(dims: number[], data: Uint8Array): Uint8Array {
    const h = new Uint8Array(4 + 4 * dims.length);
    h[2] = 8;
    h[3] = dims.length;
    dims.forEach((d, i) => new DataView(h.buffer).setUint32(4 + 4 * i, d, false));
    return Buffer.concat([h, data]);
  }
  function dir(name: string, images: Uint8Array): string {
    const d = join(tmp, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), images);
    writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([4], Uint8Array.from([0, 1, 2, 3])));
    writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx([2, 2, 2], new Uint8Array(8)));
    writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx([2], Uint8Array.from([0, 1])));
    return d;
  }

  it('a gzip bomb (header: 4 images of 2×2, stream: 1 GiB) stops at the declared 32 bytes', async () => {
    // A multi-member gzip: the header member, then 64 members of 16 MiB of zeros each.
    const zeros = gzipSync(new Uint8Array(16 << 20), { level: 9 });
    const bomb = Buffer.concat([gzipSync(idx([4, 2, 2], new Uint8Array(16))), ...Array(64).fill(zeros)]);
    expect(bomb.length).toBeLessThan(2 << 20);
    await typedAndFast(() => loadIdxDir(dir('bomb', bomb)), FormatError, /inflates to more than the 32 bytes its IDX header declares/);
    expect(loadIdxDir(dir('fine', gzipSync(idx([4, 2, 2], new Uint8Array(16))))).train.n).toBe(4);
  }, 60_000);

  it('a header declaring more than the gzip data can hold is refused before inflating', async () => {
    const lie = gzipSync(idx([60000, 4096, 4096], new Uint8Array(64)));
    await typedAndFast(() => loadIdxDir(dir('lie', lie)), FormatError, /declares .* bytes, more than .* bytes of gzip data can hold/);
  });
});

describe('endless and special files', () => {
  it('/dev/zero as a model, a data file, a preset: FormatError at once', async () => {
    await typedAndFast(() => loadOnnx('/dev/zero'), FormatError, /\/dev\/zero: not a regular file \(a character device\)/);
    await typedAndFast(() => loadFeatures('/dev/zero.npy'), FormatError, /cannot read/);
    await typedAndFast(() => readInputFileSync('/dev/zero'), FormatError, /character device/);
    await typedAndFast(() => loadPresetFile('/dev/zero'), FormatError, /character device/);
    await typedAndFast(() => loadDataset('features:/dev/urandom'), Error);
    await typedAndFast(() => readInputFileSync(tmp), FormatError, /a folder/);
  });

  it('a file larger than its limit is refused before reading', async () => {
    const f = join(tmp, 'big.bin');
    writeFileSync(f, new Uint8Array(4096));
    await typedAndFast(() => readInputFileSync(f, { maxBytes: 1000, what: 'ONNX model' }), FormatError, /4\.00 KiB, larger than the 1000 B limit for an ONNX model file/);
  });
});

describe('nothing non-finite in float32 gets in', () => {
  it('a CSV 1e39 (Infinity in float32) names line and column', async () => {
    const f = join(tmp, 'big.csv');
    writeFileSync(f, 'a,b,label\n0.5,0.25,0\n0.1,1e39,1\n');
    await typedAndFast(() => loadFeatures(f), ValueError, /big\.csv:3: column 2 value 1e39 is beyond the float32 range/);
  });

  it('NPY with NaN, or float64 1e300, names the array, row and column', async () => {
    const m = new Float32Array(3 * 4).fill(0.5);
    for (let i = 0; i < 3; i++) m[i * 4 + 3] = i % 2;
    m[2 * 4 + 1] = NaN;
    writeFileSync(join(tmp, 'nan.npy'), encodeNpy(m, [3, 4]));
    await typedAndFast(() => loadFeatures(join(tmp, 'nan.npy')), ValueError, /nan\.npy features: non-finite feature NaN \(as float32\) at row 2, column 1/);
    const d = Float64Array.from(m, (v) => (Number.isNaN(v) ? 0 : v));
    d[4] = 1e300;
    writeFileSync(join(tmp, 'f8.npz'), encodeZip([{ name: 'x.npy', data: encodeNpy(d.subarray(0, 12), [4, 3]) }, { name: 'y.npy', data: encodeNpy(Int32Array.from([0, 1, 0, 1]), [4]) }]));
    await typedAndFast(() => loadFeatures(join(tmp, 'f8.npz')), ValueError, /f8\.npz\[x\]: non-finite feature Infinity \(as float32\) at row 1, column 1/);
  });
});

describe('output locations are checked before any work', () => {
  it('a missing folder is named (not the temporary file); /proc/x fails fast instead of looping', async () => {
    await typedAndFast(() => prepareOutputFile('/nonexistent/dir/x.onnx', '--out'), OutputError, /^--out \/nonexistent\/dir\/x\.onnx: the folder \/nonexistent\/dir does not exist$/);
    await typedAndFast(() => prepareOutputDir('/proc/x', '--out'), OutputError, /cannot create the folder \/proc\/x/);
    await typedAndFast(() => prepareOutputDir('/proc/x/y/z'), OutputError, /\/proc\/x/);
    await typedAndFast(() => prepareOutputFile(tmp), OutputError, /is a folder/);
    const net = new Network({ sizes: [2, 2] });
    const e = await typedAndFast(() => saveOnnx(net, '/nonexistent/dir/x.onnx'), OutputError, /the folder \/nonexistent\/dir does not exist/);
    expect(e.message).not.toMatch(/\.tmp/);
    prepareOutputDir(join(tmp, 'a', 'b', 'c'));
    prepareOutputFile(join(tmp, 'a', 'b', 'c', 'x.onnx'));
  });
});

describe('allocations larger than the memory available are refused before they are attempted', () => {
  it('parses NREM_MEMORY_LIMIT and reports the budget', () => {
    expect(parseBytes('8GiB')).toBe(8 * 2 ** 30);
    expect(parseBytes('512 MB')).toBe(512e6);
    expect(parseBytes('1.5e9')).toBe(1.5e9);
    expect(() => parseBytes('lots')).toThrow(ValueError);
    expect(withLimit('1GiB', () => memoryBudget())).toEqual({ bytes: 2 ** 30, source: 'NREM_MEMORY_LIMIT' });
    expect(() => checkMemory(Infinity, 'x')).toThrow(MemoryError);
  });

  it('an architecture of 1e6 × 1e6 (4 TB of weights): MemoryError naming the sizes, the size and the memory available', async () => {
    await typedAndFast(() => createNetwork('paper', [784, 1e6, 1e6, 10], 1), MemoryError, /784-1000000-1000000-10 needs about 3\.6\d TiB .* but only .* of memory are available/);
  });

  it("createNetwork('paper', [784, 1e6, 10]) and train --arch 100,1e7,4 on an 8 GiB budget", async () => {
    await typedAndFast(() => withLimit('8GiB', () => checkTrainingMemory([784, 1e6, 10], 100)), MemoryError, /training a network of sizes 784-1000000-10 with batches of 100 needs about 10\.\d GiB/);
    await typedAndFast(() => withLimit('8GiB', () => checkTrainingMemory([100, 1e7, 4], 100)), MemoryError, /needs about 27\.\d GiB/);
    await typedAndFast(() => withLimit('2GiB', () => createNetwork('paper', [784, 1e6, 10], 1)), MemoryError, /784-1000000-10 needs about 2\.96 GiB \(794,000,000 float32 parameters\) but only 2\.00 GiB/);
    // train() checks too, before it allocates gradients and momenta.
    const net = createNetwork('paper', [100, 2000, 4], 1);
    const { train: data } = generatePatches({ n: 40 });
    await typedAndFast(() => withLimit('2MiB', () => train(net, data, recipeOptions('paper', 1))), MemoryError, /training a network of sizes 100-2000-4/);
  });

  it('1e6 FGSM epsilons and PGD with 1e4 epsilons are refused before allocating', async () => {
    const net = createNetwork('paper', [100, 8, 4], 1);
    const { test } = generatePatches({ nTest: 10_000 });
    await typedAndFast(() => fgsmSweep(net, test.x, test.y, { epsilons: new Array(1e6).fill(0.1) }), ValueError, /at most 10000 epsilons/);
    await typedAndFast(() => new PGD().run(net, test.x, test.y, { epsilons: new Array(1e4).fill(0.1) }), MemoryError, /pgd-linf with 10000 epsilons on 10000 rows needs about 74\.5 GiB/);
  });
});

describe('parameters bounded, errors typed', () => {
  it('maskSize 2^32 + 1 and steps 2^63 are refused with the value they were given', () => {
    expect(() => resolveParameters('mnist-fgsm', { maskSize: 2 ** 32 + 1 }, 3)).toThrow(/maskSize but received 4294967297/);
    expect(() => resolveParameters('mnist-fgsm', { steps: 2 ** 63 }, 3)).toThrow(/steps but received 9223372036854776000/);
  });

  it('ERR_MEMORY and ERR_NATIVE from the addon become MemoryError and NativeError', () => {
    const mk = (code: string) => Object.assign(new Error('x'), { code });
    expect(fromNative(mk('ERR_MEMORY'))).toBeInstanceOf(MemoryError);
    expect(fromNative(mk('ERR_NATIVE'))).toBeInstanceOf(NativeError);
    expect(fromNative(mk('ERR_OUTPUT'))).toBeInstanceOf(OutputError);
  });

  it("loadDataset('mnist', { quickTrain: 1e9 }) keeps every row, fast", async () => {
    const c0 = process.cpuUsage();
    const s = await loadDataset('mnist', { quick: true, quickTrain: 1e9 });
    expect(s.train.n).toBe(60_000);
    expect((process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1e6).toBeLessThan(10); // the first MNIST load included
  });
});
