import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync,
  readdirSync, readlinkSync, statSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { describe, test } from 'node:test';
import { needsRoot, tempDir, uniqueName } from '../../support/testing.ts';
import { craftTar } from './fixtures.ts';
import { readXattrs } from './pack.ts';
import { TarReader, type TarEntry } from './tar.ts';
import { BreakoutError, unpack } from './unpack.ts';

/** All entries of an archive file, as the reader sees them. */
function entries(file: string): TarEntry[] {
  const out: TarEntry[] = [];
  const r = new TarReader({ entry: (e) => out.push(e), data() {}, end() {} });
  r.push(readFileSync(file));
  r.finish();
  return out;
}

describe('chapter 04: tar format', () => {
  test('reads GNU tar long names in gnu and pax formats', (t) => {
    const dir = tempDir(t);
    // long for ustar's 100-byte name, short enough for its 155+100 split
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    mkdirSync(join(dir, 'src', 'd'.repeat(120)), { recursive: true });
    writeFileSync(join(dir, 'src', long), 'x');
    for (const format of ['gnu', 'pax', 'ustar']) {
      const file = join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-C', join(dir, 'src'),
        '-cf', file, long], { stdio: 'pipe' });
      const [e] = entries(file).filter((x) => x.type === 'file');
      assert.equal(e.path, long, format);
    }
  });

  test('writer round trip: long names, links, big ids, xattrs', (t) => {
    const dir = tempDir(t);
    const long = `a/${'b'.repeat(300)}`;
    const file = join(dir, 'x.tar');
    craftTar(file, [
      { path: long, body: 'long', uid: 3_000_000, gid: 70_000 },
      { path: 'l', type: 'symlink', linkpath: `/${'t'.repeat(200)}` },
      { path: 'x', xattrs: { 'user.k': 'v\0binary' } },
    ]);
    const got = entries(file);
    assert.equal(got[0].path, long);
    assert.equal(got[0].uid, 3_000_000);
    assert.equal(got[0].gid, 70_000);
    assert.equal(got[1].linkpath, `/${'t'.repeat(200)}`);
    assert.deepEqual(got[2].xattrs.get('user.k'), Buffer.from('v\0binary'));
    // and GNU tar agrees
    const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8' });
    assert.equal(listed.split('\n')[0], long);
  });

  test('a corrupt header is an error, not garbage', () => {
    const r = new TarReader({ entry() {}, data() {}, end() {} });
    assert.throws(() => r.push(Buffer.alloc(512, 0x41)), /checksum/);
  });
});

describe('chapter 04: faithful unpacking', needsRoot, () => {
  test('modes, owners, times, links, xattrs and device nodes', async (t) => {
    const dir = tempDir(t);
    const src = join(dir, 'src');
    mkdirSync(src);
    // Built with real tools so the archive is GNU tar's, not ours.
    execFileSync('sh', ['-c', `set -e; cd ${src}
      mkdir -m 1777 tmp; mkdir -p usr/bin
      printf 'su' > usr/bin/su; chown 0:0 usr/bin/su; chmod 4755 usr/bin/su
      printf 'data' > owned; chown 1234:5678 owned; chmod 640 owned
      ln usr/bin/su usr/bin/su-hard
      ln -s ../owned usr/link
      mknod null c 1 3; mknod sda b 8 0; mkfifo pipe
      mkdir -m 2775 shared; chgrp 50 shared; touch shared/f shared/g
      chgrp 0 shared/f; chmod 600 shared/f; chmod 4750 shared/g
      python3 -c "import os; os.setxattr('owned', 'trusted.skiff', b'hello')"
      touch -h -d '2001-02-03 04:05:06' usr/link owned tmp`]);
    const tar = join(dir, 'layer.tar');
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-C', src,
      '-cf', tar, '.']);
    const out = join(dir, 'out');
    mkdirSync(out);
    const s = await unpack({ file: tar }, out);
    const want = execFileSync('sha256sum', [tar], { encoding: 'utf8' });
    assert.equal(s.diffId, `sha256:${want.slice(0, 64)}`);

    assert.equal(statSync(join(out, 'tmp')).mode & 0o7777, 0o1777);
    assert.equal(statSync(join(out, 'usr/bin/su')).mode & 0o7777, 0o4755);
    const owned = statSync(join(out, 'owned'));
    assert.deepEqual([owned.uid, owned.gid, owned.mode & 0o777],
      [1234, 5678, 0o640]);
    assert.equal(owned.mtime.toISOString(), new Date(
      '2001-02-03T04:05:06').toISOString());
    assert.equal(readXattrs(join(out, 'owned')).get('trusted.skiff')
      ?.toString(), 'hello');
    assert.equal(readlinkSync(join(out, 'usr/link')), '../owned');
    assert.equal(lstatSync(join(out, 'usr/link')).mtime.getFullYear(), 2001);
    assert.equal(statSync(join(out, 'usr/bin/su-hard')).ino,
      statSync(join(out, 'usr/bin/su')).ino);
    const nul = statSync(join(out, 'null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, statSync('/dev/null').rdev);
    // in a setgid directory a new file takes the directory's group
    const sh = (f: string) => statSync(join(out, 'shared', f));
    assert.deepEqual([sh('').gid, sh('').mode & 0o7777], [50, 0o2775]);
    assert.deepEqual([sh('f').gid, sh('f').mode & 0o7777], [0, 0o600]);
    assert.deepEqual([sh('g').gid, sh('g').mode & 0o7777], [50, 0o4750]);
    const sda = lstatSync(join(out, 'sda'));
    assert.ok(sda.isBlockDevice() && sda.rdev === 8 * 256, `${sda.rdev}`);
    assert.ok(lstatSync(join(out, 'pipe')).isFIFO());
    assert.equal(statSync(join(out, 'tmp')).mtime.getFullYear(), 2001);
  });

  test('gzip is recognised by its magic; zstd where Node has it, else ' +
    'a clear error', async (t) => {
    const dir = tempDir(t);
    const tar = join(dir, 'l.tar');
    const digest = craftTar(tar, [{ path: 'etc/motd', body: 'hi\n' }]);
    execFileSync('sh', ['-c', `gzip -k ${tar} && zstd -q -k ${tar}`]);
    mkdirSync(join(dir, 'gz'));
    const s = await unpack({ file: `${tar}.gz` }, join(dir, 'gz'));
    assert.equal(s.diffId, digest, 'diff ID is of the uncompressed tar');
    assert.equal(readFileSync(join(dir, 'gz/etc/motd'), 'utf8'), 'hi\n');
    mkdirSync(join(dir, 'zst'));
    const zst = unpack({ file: `${tar}.zst` }, join(dir, 'zst'));
    if ('createZstdDecompress' in zlib) { // Node 22.15 and newer
      assert.equal((await zst).diffId, digest);
      assert.equal(readFileSync(join(dir, 'zst/etc/motd'), 'utf8'), 'hi\n');
    } else {
      await assert.rejects(zst, /layer compressed with zstd is not supported/);
      assert.deepEqual(readdirSync(join(dir, 'zst')), [], 'nothing written');
    }
  });

  test('a large layer is hashed and copied on a second thread',
    async (t) => {
      const dir = tempDir(t);
      const tar = join(dir, 'big.tar');
      const big = Buffer.alloc(12 << 20);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
      const digest = craftTar(tar, [
        { path: 'a/big', body: big }, { path: 'a/small', body: 'x' }]);
      execFileSync('gzip', ['-k', tar]);
      for (const file of [tar, `${tar}.gz`]) {
        const out = join(dir, `out-${file.length}`);
        mkdirSync(out);
        const copy = join(dir, 'copy.tar');
        const fd = openSync(copy, 'w');
        const s = await unpack({ file }, out, { copyTo: fd });
        closeSync(fd);
        assert.equal(s.diffId, digest, file);
        assert.ok(readFileSync(copy).equals(readFileSync(tar)), 'the copy');
        assert.ok(readFileSync(join(out, 'a/big')).equals(big));
      }
      // a copy that cannot be written fails the unpack, saying why
      const ro = openSync(tar, 'r');
      t.after(() => closeSync(ro));
      mkdirSync(join(dir, 'ro'));
      await assert.rejects(unpack({ file: tar }, join(dir, 'ro'),
        { copyTo: ro }), /EBADF/);
    });

  test('whiteouts become overlayfs whiteouts and opaque dirs', async (t) => {
    const dir = tempDir(t);
    const tar = join(dir, 'l.tar');
    craftTar(tar, [
      { path: 'etc/', type: 'dir' },
      { path: 'etc/.wh.passwd' },
      { path: 'home/', type: 'dir' },
      { path: 'home/.wh..wh..opq' },
    ]);
    const out = join(dir, 'out');
    mkdirSync(out);
    await unpack({ file: tar }, out);
    const wh = lstatSync(join(out, 'etc/passwd'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a 0/0 char device');
    assert.ok(!existsSync(join(out, 'etc/.wh.passwd')));
    assert.equal(readXattrs(join(out, 'home'))
      .get('trusted.overlay.opaque')?.toString(), 'y');
    assert.ok(!existsSync(join(out, 'home/.wh..wh..opq')));
  });
});

// #region attacks
describe('chapter 04: malicious layers', needsRoot, () => {
  // Each archive aims at `victim`, a host path outside the layer.
  const attacks: [string, (victim: string) => Parameters<typeof craftTar>[1],
    RegExp][] = [
    ['../ in a path', (v) => [{ path: `../../../../../..${v}`, body: 'x' }],
      /leaves the layer/],
    ['an absolute path', (v) => [{ path: v, body: 'x' }], /is absolute/],
    ['a write through a symlink', (v) => [
      { path: 'evil', type: 'symlink', linkpath: v.slice(0, v.lastIndexOf(
        '/')) },
      { path: `evil/${v.slice(v.lastIndexOf('/') + 1)}`, body: 'x' },
    ], /through the symlink "evil"/],
    ['a symlinked directory chain', (v) => [
      { path: 'a/', type: 'dir' },
      { path: 'a/b', type: 'symlink', linkpath: '/' },
      { path: `a/b${v}`, body: 'x' },
    ], /through the symlink "a\/b"/],
    ['a hard link to an outside file', (v) => [
      { path: 'shadow', type: 'link', linkpath: `../../../../..${v}.src` },
    ], /hard link target .* leaves the layer/],
    ['a hard link through a symlink', (v) => [
      { path: 'etc', type: 'symlink', linkpath: v.slice(0, v.lastIndexOf(
        '/')) },
      { path: 'shadow', type: 'link', linkpath: `etc/${v.slice(
        v.lastIndexOf('/') + 1)}.src` },
    ], /through the symlink "etc"/],
    ['a whiteout naming ..', () => [{ path: 'a/.wh...' }],
      /leaves the layer/],
  ];
  // #endregion

  // #region attack-test
  for (const [name, make, error] of attacks) {
    test(`refuses ${name}`, async (t) => {
      const dir = tempDir(t);
      const victimDir = tempDir(t, 'skiff-victim-');
      const victim = join(victimDir, uniqueName('victim'));
      writeFileSync(`${victim}.src`, 'host secret\n');
      const tar = join(dir, 'evil.tar');
      craftTar(tar, make(victim));
      const out = join(dir, 'layer');
      mkdirSync(out);
      await assert.rejects(unpack({ file: tar }, out),
        (err: Error) => err instanceof BreakoutError && error.test(
          err.message));
      assert.ok(!existsSync(victim), `${victim} was written`);
      assert.equal(readFileSync(`${victim}.src`, 'utf8'), 'host secret\n');
      assert.equal(statSync(`${victim}.src`).nlink, 1, 'linked into layer');
    });
  }
  // #endregion

  test('a file entry replaces a symlink instead of following it', async (t) => {
    const dir = tempDir(t);
    const victim = join(tempDir(t, 'skiff-victim-'), 'file');
    writeFileSync(victim, 'host secret\n');
    const tar = join(dir, 'evil.tar');
    craftTar(tar, [
      { path: 'link', type: 'symlink', linkpath: victim },
      { path: 'link', body: 'pwned' },
    ]);
    const out = join(dir, 'layer');
    mkdirSync(out);
    await unpack({ file: tar }, out);
    assert.equal(readFileSync(victim, 'utf8'), 'host secret\n');
    assert.ok(lstatSync(join(out, 'link')).isFile());
  });
});
