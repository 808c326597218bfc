import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { needsRoot, runTs, uniqueName } from '../../support/testing.ts';
import { cachedRootfs } from './rootfs.ts';

const RUN = 'chapters/01-chroot/run.ts';
const ESCAPE = 'chapters/01-chroot/escape.ts';

describe('chapter 01: chroot', needsRoot, () => {
  let rootfs: string;
  // A file that exists on the host, outside the rootfs, and nowhere else.
  const marker = `/skiff-marker-${uniqueName()}`;
  before(() => {
    rootfs = cachedRootfs();
    writeFileSync(marker, 'host secret\n');
  });
  after(() => rmSync(marker, { force: true }));

  test('ls / inside the chroot lists the rootfs, not the host', () => {
    const r = runTs(RUN, [rootfs, '/bin/ls', '-a', '/']);
    assert.equal(r.status, 0, r.stderr);
    const names = r.stdout.split('\n');
    assert.ok(names.includes('bin') && names.includes('etc'), r.stdout);
    assert.ok(!names.includes(marker.slice(1)), 'host marker is visible');
  });

  test('a command found through PATH runs with its arguments', () => {
    const r = runTs(RUN, [rootfs, 'sh', '-c', 'echo $0 $1; yes | head -1',
      'shell', 'arg']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'shell arg\ny\n');
  });

  test('root inside a chroot escapes and reads a host file', () => {
    const r = runTs(ESCAPE, [rootfs, marker]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /host secret/);
  });

  test('the exit status of the command is passed through', () => {
    const r = runTs(RUN, [rootfs, 'sh', '-c', 'exit 7']);
    assert.equal(r.status, 7);
  });
});

describe('chapter 01: bad input', needsRoot, () => {
  test('a missing rootfs is one line and exit 125', () => {
    const r = runTs(RUN, ['/nonexistent-rootfs', '/bin/sh']);
    assert.equal(r.status, 125);
    assert.equal(r.stderr,
      'skiff: rootfs "/nonexistent-rootfs": no such directory\n');
  });

  test('a missing command is one line and exit 127', () => {
    const r = runTs(RUN, [cachedRootfs(), 'no-such-command']);
    assert.equal(r.status, 127);
    assert.equal(r.stderr,
      'skiff: exec "no-such-command": not found in $PATH\n');
  });

  test('a file that is not executable is one line and exit 126', () => {
    const r = runTs(RUN, [cachedRootfs(), '/etc/passwd']);
    assert.equal(r.status, 126);
    assert.equal(r.stderr, 'skiff: exec "/etc/passwd": permission denied\n');
  });
});
