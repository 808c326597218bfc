// The one parser of sizes: --memory and every other size flag.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSize } from './size.ts';

describe('chapter 03: sizes', () => {
  test('sizes as docker reads them', () => {
    const size = (v: string) => parseSize(v, '--memory');
    assert.equal(size('64m'), 64 * 2 ** 20);
    assert.equal(size('1.5g'), 1.5 * 2 ** 30);
    assert.equal(size('512K'), 512 * 1024);
    assert.equal(size('100'), 100);
    assert.equal(size('64mb'), 64 * 2 ** 20);
    assert.equal(size('64MiB'), 64 * 2 ** 20);
    assert.equal(size('2 g'), 2 * 2 ** 30);
    assert.equal(size('1p'), 2 ** 50);
    for (const bad of ['10x', '', 'm', '-1m', '1.5.5g', '64mm']) {
      assert.throws(() => size(bad),
        new RegExp(`invalid argument "${bad}" for --memory`), bad);
    }
  });
});
