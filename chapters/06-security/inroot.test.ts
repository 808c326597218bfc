// The image is untrusted: what host root reads or makes in it must stay
// in it. Each case builds a rootfs in a temp dir with one trap in it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, describe, test } from 'node:test';
import { needsRoot, tempDir } from '../../support/testing.ts';
import { mkdirInRoot, readFileInRoot } from './inroot.ts';

/** A rootfs with /etc, and a host file outside it holding a secret. */
function setup(t: TestContext) {
  const root = join(tempDir(t), 'rootfs');
  mkdirSync(join(root, 'etc'), { recursive: true });
  const outside = join(tempDir(t), 'secret');
  writeFileSync(outside, 'host secret\n');
  return { root, outside, etc: (f: string) => join(root, 'etc', f) };
}

describe('readFileInRoot', needsRoot, () => {
  test('reads a regular file; none there is undefined', (t) => {
    const { root, etc } = setup(t);
    writeFileSync(etc('passwd'), 'root:x:0:0::/root:/bin/sh\n');
    assert.equal(readFileInRoot(root, '/etc/passwd'),
      'root:x:0:0::/root:/bin/sh\n');
    assert.equal(readFileInRoot(root, '/etc/group'), undefined);
    assert.equal(readFileInRoot(root, '/etc/passwd/x'), undefined);
  });

  test('an absolute symlink resolves inside the root', (t) => {
    const { root, outside, etc } = setup(t);
    symlinkSync(outside, etc('passwd'));
    assert.equal(readFileInRoot(root, '/etc/passwd'), undefined);
    // The same path inside the rootfs is what it reads.
    mkdirSync(join(root, outside, '..'), { recursive: true });
    writeFileSync(join(root, outside), 'inside\n');
    assert.equal(readFileInRoot(root, '/etc/passwd'), 'inside\n');
  });

  test('a relative ../../.. symlink stops at the root', (t) => {
    const { root, outside, etc } = setup(t);
    symlinkSync(`../../../../../../../..${outside}`, etc('passwd'));
    assert.equal(readFileInRoot(root, '/etc/passwd'), undefined);
    symlinkSync(`../../../../..${outside}`, etc('group'));
    assert.equal(readFileInRoot(root, '../../../..' + outside), undefined);
  });

  test('a symlinked directory on the way stays inside', (t) => {
    const { root, outside } = setup(t);
    symlinkSync(join(outside, '..'), join(root, 'up'));
    assert.equal(readFileInRoot(root, '/up/secret'), undefined);
  });

  test('a magic link of /proc is refused', (t) => {
    // Our own temp dir: it must be unmounted before it is removed, and
    // a removal must never walk into a live /proc.
    const root = mkdtempSync(join(tmpdir(), 'skiff-test-'));
    const proc = join(root, 'proc');
    mkdirSync(proc);
    mkdirSync(join(root, 'etc'));
    execFileSync('mount', ['-t', 'proc', 'proc', proc]);
    t.after(() => {
      execFileSync('umount', [proc]);
      rmSync(root, { recursive: true });
    });
    symlinkSync('/proc/self/root/etc/passwd', join(root, 'etc/passwd'));
    assert.throws(() => readFileInRoot(root, '/etc/passwd'),
      /^Error: read \/etc\/passwd in the image: ELOOP$/);
  });

  test('a FIFO is refused at once, without blocking', (t) => {
    const { root, etc } = setup(t);
    execFileSync('mkfifo', [etc('passwd')]);
    // Opened for reading with no writer, a FIFO blocks forever: this
    // test would time out rather than fail.
    assert.throws(() => readFileInRoot(root, '/etc/passwd'),
      /^Error: read \/etc\/passwd in the image: not a regular file$/);
  });

  test('a device node is not opened', (t) => {
    const { root, etc } = setup(t);
    execFileSync('mknod', [etc('group'), 'c', '1', '3']); // /dev/null
    assert.throws(() => readFileInRoot(root, 'etc/group'),
      /: not a regular file$/);
  });

  test('a directory is refused', (t) => {
    const { root, etc } = setup(t);
    mkdirSync(etc('passwd'));
    assert.throws(() => readFileInRoot(root, '/etc/passwd'),
      /not a regular file/);
  });

  test('a file over the cap is refused, one at the cap read', (t) => {
    const { root, etc } = setup(t);
    writeFileSync(etc('passwd'), '');
    truncateSync(etc('passwd'), 2 << 20); // sparse: 2 MiB, no disk
    assert.throws(() => readFileInRoot(root, '/etc/passwd'),
      /^Error: read \/etc\/passwd in the image: larger than 1 MiB$/);
    truncateSync(etc('passwd'), 1 << 20);
    assert.equal(readFileInRoot(root, '/etc/passwd')?.length, 1 << 20);
  });
});

describe('mkdirInRoot', needsRoot, () => {
  test('makes the missing directories inside the root', (t) => {
    const { root } = setup(t);
    mkdirInRoot(root, '/srv/app/../data/x');
    assert.ok(existsSync(join(root, 'srv/data/x')));
    mkdirInRoot(root, '/srv/data/x'); // again: nothing to do
  });

  test('a symlink on the way leads inside, never out', (t) => {
    const { root, outside } = setup(t);
    const host = join(outside, '..');
    symlinkSync(host, join(root, 'work'));
    symlinkSync('../../../../../../..', join(root, 'up'));
    // Dangling inside the root (as `mkdir -p` in a chroot): an error.
    assert.throws(() => mkdirInRoot(root, '/work/made'), /: ENOENT$/);
    mkdirSync(join(root, host), { recursive: true });
    mkdirInRoot(root, '/work/made');
    mkdirInRoot(root, '/up/tmp/made2');
    assert.ok(!existsSync(join(host, 'made')));
    assert.ok(existsSync(join(root, host, 'made')));
    assert.ok(!existsSync('/tmp/made2'));
    assert.ok(existsSync(join(root, 'tmp/made2')));
  });

  test('a file on the way is an error naming the path', (t) => {
    const { root, etc } = setup(t);
    writeFileSync(etc('passwd'), '');
    assert.throws(() => mkdirInRoot(root, '/etc/passwd/x'),
      /^Error: mkdir \/etc\/passwd\/x in the image: ENOTDIR$/);
  });
});
