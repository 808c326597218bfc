// Root of a user namespace is an unprivileged uid on the host: what it
// needs must reach it without a path it may not search, and the files
// of its rootfs, owned by host uid 0, must still be root's inside.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cachedRootfs, makeBusyboxRootfs } from '../01-chroot/rootfs.ts';
import { needsRoot, REPO, tempDir } from '../../support/testing.ts';
import { background, needsUserNs, run, specWith } from './harness.ts';

/** A writable rootfs of our own, under mkdtemp's 0700 directory. */
function lockedRootfs(t: Parameters<typeof tempDir>[0]): string {
  const dir = join(tempDir(t), 'rootfs');
  makeBusyboxRootfs(dir);
  assert.equal(statSync(join(dir, '..')).mode & 0o777, 0o700);
  return dir;
}

describe('chapter 02: user namespaces', needsRoot, () => {
  test('the rootfs is idmapped: its files are root\'s inside, and a ' +
    'file root makes there is host uid 0\'s on disk', needsUserNs,
  async (t) => {
    const rootfs = lockedRootfs(t);
    const out = await run(specWith(['sh', '-c',
      'stat -c %u /bin/busybox; id -u; echo hi > /made; stat -c %u /made'],
    [], { rootfs }));
    assert.deepEqual(out, { code: 0, stdout: '0\n0\n0\n', stderr: '' });
    // The mount maps container uid 0 (host 100000) back to host uid 0.
    assert.equal(statSync(join(rootfs, 'made')).uid, 0);
    assert.equal(readFileSync(join(rootfs, 'made'), 'utf8'), 'hi\n');
  });

  test('root inside is the mapped host uid', needsUserNs, async (t) => {
    const spec = specWith(['sleep', '60'], [], { rootfs: lockedRootfs(t) });
    const c = await background(t, spec);
    const uid = /^Uid:\s+(\d+)/m
      .exec(readFileSync(`/proc/${c.pid}/status`, 'utf8'))?.[1];
    assert.equal(Number(uid), spec.linux.uidMappings![0].hostID);
    assert.notEqual(Number(uid), 0);
  });

  // A checkout under a 0700 directory, as root's home is: the repo is
  // bound there, and node too, in a private mount namespace, and the
  // demo runs from there. The init must find nothing by those paths.
  test('starts from a checkout and a node that only host root can ' +
    'reach', needsUserNs, (t) => {
    cachedRootfs();
    const locked = join(tempDir(t), 'locked');
    mkdirSync(locked, { mode: 0o700 });
    const script = `set -e
      mkdir "$L/repo"; touch "$L/node"
      mount --bind "$REPO" "$L/repo"; mount --bind "$NODE" "$L/node"
      cd "$L/repo"
      exec "$L/node" --import tsx chapters/02-namespaces/run.ts \
        "$L/repo/.cache/rootfs-busybox" sh -c 'id -u; ls /bin/busybox'`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private',
      'sh', '-c', script], { encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, L: locked, REPO, NODE: process.execPath } });
    assert.deepEqual({ status: r.status, out: r.stdout, err: r.stderr },
      { status: 0, out: '0\n/bin/busybox\n', err: '' });
  });
});
