import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync, existsSync, linkSync, lstatSync, mkdirSync, openSync,
  readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  hostMounts, needsRoot, runTs, tempDir, uniqueName,
} from '../../support/testing.ts';
import { ALL_NAMESPACES, defaultSpec } from '../02-namespaces/defaults.ts';
import { startContainer } from '../02-namespaces/start.ts';
import type { Starting } from '../02-namespaces/steps.ts';
import { importRootfs, stackLayer } from './archive.ts';
import { busyboxTarball, craftTar, testStore } from './fixtures.ts';
import {
  commitRootfs, createRootfs, diffRootfs, exportRootfs, isMounted,
  mountRootfs, overlayOptions, overlayStep, removeRootfs, rootfsOf,
} from './overlay.ts';
import { ImageStore } from './store.ts';

const RUN = 'chapters/01-chroot/run.ts';

/** Mount points under `dir` (others' tests mount elsewhere meanwhile). */
function mountsUnder(dir: string): string[] {
  return hostMounts().filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** A mounted container rootfs, removed when the test ends. */
function mounted(t: { after(fn: () => void): void }, store: ImageStore,
  image: string): string {
  const id = uniqueName('c');
  createRootfs(store, id, image); // testStore() removes it
  mountRootfs(store, id);
  return id;
}

describe('chapter 04: overlay rootfs', needsRoot, () => {
  test('layers stack: whiteouts, opaque dirs hide lower files', async (t) => {
    const store = await testStore(t);
    const { merged } = rootfsOf(store, mounted(t, store, 'busybox:layered'));
    assert.equal(readFileSync(join(merged, 'etc/motd'), 'utf8'),
      'welcome to layer two\n');
    assert.ok(!existsSync(join(merged, 'bin/vi')), 'deleted in layer two');
    assert.ok(existsSync(join(merged, 'bin/ls')));
    assert.ok(!existsSync(join(merged, 'var/tmp')), 'opaque /var');
    assert.ok(existsSync(join(merged, 'var/new')));
  });

  test('copy-up: a change lands in the upper layer only', async (t) => {
    const store = await testStore(t);
    const id = mounted(t, store, 'busybox');
    const { merged, upper } = rootfsOf(store, id);
    const lower = store.diffDir(store.image('busybox').config.rootfs
      .diff_ids[0]);
    const before = readFileSync(join(lower, 'etc/passwd'), 'utf8');
    appendFileSync(join(merged, 'etc/passwd'), 'app:x:1000:1000::/:/bin/sh\n');
    rmSync(join(merged, 'bin/ls'));
    assert.equal(readFileSync(join(lower, 'etc/passwd'), 'utf8'), before);
    assert.ok(existsSync(join(lower, 'bin/ls')), 'lower untouched');
    assert.match(readFileSync(join(upper, 'etc/passwd'), 'utf8'), /^app:/m);
    const wh = lstatSync(join(upper, 'bin/ls'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a whiteout');
    assert.deepEqual(diffRootfs(store, id), [
      { kind: 'C', path: '/bin' }, { kind: 'D', path: '/bin/ls' },
      { kind: 'C', path: '/etc' }, { kind: 'C', path: '/etc/passwd' },
    ]);
  });

  test('delete, commit, run: the new image hides the file', async (t) => {
    const store = await testStore(t);
    const id = mounted(t, store, 'busybox');
    const { merged } = rootfsOf(store, id);
    rmSync(join(merged, 'bin/ls'));
    writeFileSync(join(merged, 'etc/motd'), 'committed\n');
    const img = await commitRootfs(store, id, { ref: 'committed',
      message: 'no ls' });
    assert.equal(img.config.rootfs.diff_ids.length, 2);
    assert.equal(img.config.history?.at(-1)?.comment, 'no ls');
    const layer = execFileSync('tar', ['-tf', store.layerTar(
      img.config.rootfs.diff_ids[1])], { encoding: 'utf8' }).split('\n');
    assert.ok(layer.includes('bin/.wh.ls'), layer.join(' '));
    const { merged: m2 } = rootfsOf(store, mounted(t, store, 'committed'));
    const r = runTs(RUN, [m2, 'sh', '-c',
      'cat /etc/motd; ls /bin/ls || echo gone']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'committed\ngone\n');
    assert.match(r.stderr, /can't access|No such file/);
  });

  test('two containers share the lower layers on disk', async (t) => {
    const store = await testStore(t);
    const a = rootfsOf(store, mounted(t, store, 'busybox'));
    const b = rootfsOf(store, mounted(t, store, 'busybox'));
    const lower = store.diffDir(store.image('busybox').config.rootfs
      .diff_ids[0]);
    const ino = (p: string) => statSync(join(p, 'bin/busybox')).ino;
    assert.equal(ino(a.merged), ino(lower));
    assert.equal(ino(b.merged), ino(lower));
    const du = (p: string) => Number(execFileSync('du', ['-sk', p],
      { encoding: 'utf8' }).split('\t')[0]);
    assert.ok(du(lower) > 1000, `${du(lower)} kB`);
    assert.ok(du(a.upper) <= 8 && du(b.upper) <= 8,
      `uppers: ${du(a.upper)} kB, ${du(b.upper)} kB`);
  });

  test('export writes the merged view, without whiteouts', async (t) => {
    const store = await testStore(t);
    const id = uniqueName('c');
    createRootfs(store, id, 'busybox:layered');
    const out = join(tempDir(t), 'export.tar');
    exportRootfs(store, id, out);
    assert.deepEqual(mountsUnder(store.root), [],
      'mounted only while exporting');
    const names = execFileSync('tar', ['-tf', out], { encoding: 'utf8' })
      .split('\n');
    assert.ok(names.includes('etc/motd') && names.includes('bin/busybox'));
    assert.ok(!names.includes('bin/vi'));
    assert.ok(!names.some((n) => n.includes('.wh.')), 'no whiteouts');
  });

  test('120 layers: mount data past one page uses short relative paths',
    async (t) => {
      const store = await testStore(t);
      let top = 'busybox';
      for (let i = 0; i < 120; i++) {
        const tar = join(store.root, 'tmp', `l${i}.tar`);
        craftTar(tar, [{ path: `layer${i}`, body: `${i}\n` }]);
        await stackLayer(store, top, tar, { ref: `deep:${i}` });
        rmSync(tar);
        top = `deep:${i}`;
      }
      const id = uniqueName('c');
      createRootfs(store, id, top);
      const r = rootfsOf(store, id);
      assert.ok(overlayOptions(store, r, false).length > 4096);
      assert.ok(overlayOptions(store, r, true).length < 4096);
      const merged = mountRootfs(store, id);
      assert.equal(readFileSync(join(merged, 'layer0'), 'utf8'), '0\n');
      assert.equal(readFileSync(join(merged, 'layer119'), 'utf8'), '119\n');
      assert.ok(existsSync(join(merged, 'bin/busybox')));
    });
});

describe('chapter 04: the rootfs start step', needsRoot, () => {
  test('prepare mounts, release unmounts and removes', async (t) => {
    const store = await testStore(t);
    const spec = defaultSpec({ rootfs: '/', args: ['sh'] });
    const c: Starting = { id: uniqueName('c'), spec, pid: 0, data: {} };
    const step = overlayStep(store, 'busybox:layered');
    await step.prepare!(c);
    const r = rootfsOf(store, c.id);
    assert.equal(spec.root.path, r.merged);
    assert.ok(isMounted(r.merged));
    assert.ok(existsSync(join(r.merged, 'etc/motd')));
    await step.release!(c);
    await step.release!(c); // twice is harmless
    assert.deepEqual(mountsUnder(store.root), []);
    assert.ok(!existsSync(r.dir), 'upper and work dirs removed');
  });

  test('a container started with the step sees and changes its image',
    async (t) => {
      const store = await testStore(t);
      const run = async (image: string, script: string, keep: boolean) => {
        const id = uniqueName('c');
        const spec = defaultSpec({ rootfs: '/', args: ['sh', '-c', script],
          namespaces: ALL_NAMESPACES.filter((n) => n !== 'user') });
        const out = join(tempDir(t), 'out');
        const fd = openSync(out, 'w');
        const c = await startContainer(spec, { id, stdio: ['ignore', fd, fd],
          steps: [overlayStep(store, image, { keep })] });
        const status = await c.wait();
        await c.destroy();
        return { id, code: status.code, out: readFileSync(out, 'utf8') };
      };
      const first = await run('busybox:layered',
        'cat /etc/motd; rm /bin/ls; echo made > /made', true);
      assert.equal(first.code, 0, first.out);
      assert.equal(first.out, 'welcome to layer two\n');
      assert.deepEqual(mountsUnder(store.root), [],
        'unmounted when it ended');
      const img = await commitRootfs(store, first.id, { ref: 'changed' });
      removeRootfs(store, first.id);
      const second = await run(img.id,
        'cat /made; ls /bin/ls 2>/dev/null || echo no ls', false);
      assert.equal(second.out, 'made\nno ls\n');
      assert.deepEqual(mountsUnder(store.root), []);
      assert.ok(!existsSync(rootfsOf(store, second.id).dir));
    });
});

describe('chapter 04: AUFS branches', needsRoot, () => {
  // This kernel has no AUFS to mount, but what the store does with an
  // AUFS branch needs none: layers keep ".wh." files, diff and commit
  // read them from the upper branch.
  test('whiteouts stay .wh. files; diff and commit read them',
    async (t) => {
      const base = await testStore(t);
      const store = new ImageStore(base.root, 'aufs');
      const id = uniqueName('c');
      createRootfs(store, id, 'busybox');
      const { upper } = rootfsOf(store, id);
      // what AUFS leaves after `rm /bin/ls; rm -r /var/*; echo x >/new`
      mkdirSync(join(upper, '.wh..wh.plnk'));
      writeFileSync(join(upper, '.wh..wh.aufs'), '');
      mkdirSync(join(upper, 'bin'));
      linkSync(join(upper, '.wh..wh.aufs'), join(upper, 'bin/.wh.ls'));
      mkdirSync(join(upper, 'var'));
      writeFileSync(join(upper, 'var/.wh..wh..opq'), '');
      writeFileSync(join(upper, 'new'), 'x\n');
      assert.deepEqual(diffRootfs(store, id).map((c) => `${c.kind} ${
        c.path}`), ['C /bin', 'D /bin/ls', 'A /new', 'C /var']);
      const img = await commitRootfs(store, id, { ref: 'aufs-commit' });
      const tar = store.layerTar(img.config.rootfs.diff_ids[1]);
      const listing = execFileSync('tar', ['-tvf', tar],
        { encoding: 'utf8' }).trim().split('\n');
      const names = listing.map((l) => l.split(/\s+/).at(-1));
      assert.deepEqual(names, ['bin/', 'bin/.wh.ls', 'new', 'var/',
        'var/.wh..wh..opq']);
      assert.ok(listing.every((l) => /^[-d]/.test(l)), 'no hard links');
      // the same layer, unpacked for overlayfs, has overlay whiteouts
      const ov = new ImageStore(join(base.root, 'ov'), 'overlay');
      const s = await ov.stageLayer({ file: tar });
      const wh = lstatSync(join(s.dir, 'diff/bin/ls'));
      assert.ok(wh.isCharacterDevice() && wh.rdev === 0);
      assert.ok(!existsSync(join(s.dir, 'diff/bin/.wh.ls')));
    });
});

describe('chapter 04: a store on overlayfs', needsRoot, () => {
  test('one clear error, and the step leaves nothing behind', async (t) => {
    const dir = tempDir(t);
    for (const d of ['lo', 'up', 'wk', 'mnt']) mkdirSync(join(dir, d));
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o',
      `lowerdir=${dir}/lo,upperdir=${dir}/up,workdir=${dir}/wk`,
      join(dir, 'mnt')]);
    try { // umount before tempDir's cleanup, which runs first
      const store = new ImageStore(join(dir, 'mnt/store'));
      await importRootfs(store, busyboxTarball(), { ref: 'busybox' });
      const c: Starting = { id: uniqueName('c'), pid: 0, data: {},
        spec: defaultSpec({ rootfs: '/', args: ['sh'] }) };
      const step = overlayStep(store, 'busybox');
      await assert.rejects(async () => step.prepare!(c), new RegExp(
        'mount overlay on .*: EINVAL: the store .* is itself on overlayfs'));
      await step.release!(c);
      assert.deepEqual(readdirSync(join(store.root, 'overlay')), []);
      assert.deepEqual(mountsUnder(store.root), []);
    } finally {
      execFileSync('umount', [join(dir, 'mnt')]);
    }
  });
});
