import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync, mkdirSync, readdirSync, statSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { needsRoot, tempDir } from '../../support/testing.ts';
import { importRootfs } from './archive.ts';
import { busyboxTarball, testStore } from './fixtures.ts';
import { createRootfs, removeRootfs } from './overlay.ts';
import {
  ImageStore, chainIds, hexOf, normalizeRef, sha256,
} from './store.ts';

describe('chapter 04: references', () => {
  test('names get the default tag, as in Docker', () => {
    assert.equal(normalizeRef('busybox'), 'busybox:latest');
    assert.equal(normalizeRef('busybox:1.36'), 'busybox:1.36');
    assert.equal(normalizeRef('localhost:5000/app'),
      'localhost:5000/app:latest');
    assert.equal(normalizeRef('example.com/a/b:v1'), 'example.com/a/b:v1');
    assert.throws(() => normalizeRef('BusyBox'), /invalid reference format/);
    assert.throws(() => normalizeRef('a:b:c'), /invalid reference format/);
  });

  test('chain IDs follow the image spec', () => {
    const a = sha256('a'), b = sha256('b');
    assert.deepEqual(chainIds([a, b]), [a, sha256(`${a} ${b}`)]);
  });
});

describe('chapter 04: image store', needsRoot, () => {
  test('import: a rootfs tarball becomes a one-layer image', async (t) => {
    const store = new ImageStore(tempDir(t));
    const tarball = busyboxTarball();
    const img = await importRootfs(store, tarball, { ref: 'busybox',
      changes: { Cmd: ['sh'] } });
    assert.deepEqual(img.tags, ['busybox:latest']);
    assert.equal(img.id, sha256(img.raw), 'the ID is the config digest');
    const [diffId] = img.config.rootfs.diff_ids;
    const sum = execFileSync('sha256sum', [tarball], { encoding: 'utf8' });
    assert.equal(diffId, `sha256:${sum.slice(0, 64)}`);
    assert.deepEqual(img.config.config?.Cmd, ['sh']);
    assert.ok(statSync(join(store.diffDir(diffId), 'bin/busybox')).isFile());
    assert.equal(store.resolve(hexOf(img.id).slice(0, 8)), img.id);
    assert.equal(store.resolve('busybox:latest'), img.id);
    assert.throws(() => store.resolve('busybx'), /image "busybx" not found/);
    // state on disk: nothing half-written left behind
    assert.deepEqual(readdirSync(join(store.root, 'tmp')), []);
  });

  test('a layer shared by two images is stored once', async (t) => {
    const store = await testStore(t);
    const a = store.image('busybox');
    const b = store.image('busybox:layered');
    assert.equal(b.config.rootfs.diff_ids[0], a.config.rootfs.diff_ids[0]);
    assert.equal(readdirSync(join(store.root, 'layers')).length, 2);
    assert.deepEqual(b.config.config?.Labels, { layer: 'two' });
    assert.equal(b.config.history?.at(-1)?.created_by, 'ADD layer2.tar /');
    // importing the same tarball again adds no layer
    await importRootfs(store, busyboxTarball(), { ref: 'again' });
    assert.equal(readdirSync(join(store.root, 'layers')).length, 2);
  });

  test('rmi untags, then deletes layers no image uses', async (t) => {
    const store = await testStore(t);
    const base = store.image('busybox').config.rootfs.diff_ids[0];
    const top = store.image('busybox:layered').config.rootfs.diff_ids[1];
    store.tag('busybox', 'mine:v1');
    let r = store.remove('busybox');
    assert.deepEqual(r, { untagged: ['busybox:latest'], deleted: [] });
    r = store.remove('mine:v1');
    assert.equal(r.deleted.length, 1, 'the config, no layer');
    assert.ok(store.hasLayer(base), 'still used by busybox:layered');
    r = store.remove('busybox:layered');
    assert.deepEqual(r.deleted.slice(1).sort(), [base, top].sort());
    assert.deepEqual(readdirSync(join(store.root, 'layers')), []);
    assert.deepEqual(readdirSync(join(store.root, 'l')), []);
  });

  test('rmi refuses an image a container uses, unless forced', async (t) => {
    const store = await testStore(t);
    createRootfs(store, 'c1', 'busybox');
    assert.throws(() => store.remove('busybox'),
      /container c1 is using its image/);
    const r = store.remove('busybox', { force: true });
    assert.deepEqual(r.deleted, [], 'untagged only');
    assert.equal(store.images().length, 2);
  });

  test('an ID with several tags needs force', async (t) => {
    const store = await testStore(t);
    store.tag('busybox', 'other');
    const id = store.resolve('busybox');
    assert.throws(() => store.remove(id), /referenced in multiple/);
    const r = store.remove(id, { force: true });
    assert.deepEqual(r.untagged.sort(), ['busybox:latest', 'other:latest']);
  });

  test('the store lock is held while another process waits', (t) => {
    const root = tempDir(t);
    const store = new ImageStore(root);
    mkdirSync(join(root, 'x'));
    // flock(1) in another process must wait until we leave withLock.
    const out = store.withLock(() => execFileSync('sh', ['-c',
      `flock -n ${join(root, 'store.lock')} true && echo free || echo held`],
    { encoding: 'utf8' }));
    assert.equal(out.trim(), 'held');
    const after = execFileSync('sh', ['-c',
      `flock -n ${join(root, 'store.lock')} true && echo free || echo held`],
    { encoding: 'utf8' });
    assert.equal(after.trim(), 'free');
    assert.ok(existsSync(join(root, 'store.lock')));
  });
});
