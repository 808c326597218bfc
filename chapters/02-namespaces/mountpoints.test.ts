// Mount points are looked up inside the rootfs. The init builds the
// container's tree while it still stands in the host's, as root: an
// image's symlink on the way to a mount point (`/a -> /etc`) must lead
// into the image's /etc, never make it create or mount in the host's.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { needsRoot, tempDir } from '../../support/testing.ts';
import { privateRootfs, run, specWith } from './harness.ts';

describe('chapter 02: mount points inside the rootfs', needsRoot, () => {
  test('absolute and relative symlinks on the way resolve inside',
    async (t) => {
      const root = privateRootfs(t);
      const host = tempDir(t, 'skiff-02-host-'); // what the links name
      symlinkSync(host, join(root, 'abs'));
      symlinkSync(join('../../../../../..', host), join(root, 'rel'));
      const file = join(tempDir(t), 'bound');
      writeFileSync(file, 'bound file\n');
      const spec = specWith(['sh', '-c',
        `cat ${host}/f; grep -c ' ${host}/tmp ' /proc/self/mountinfo`],
      ['user'], { rootfs: root, mounts: [
        { destination: '/abs/tmp', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/rel/f', type: 'bind', source: file,
          options: ['bind'] },
      ] });
      const r = await run(spec);
      assert.equal(r.code, 0, r.stderr);
      // Inside: the mounts are where the links lead in the container.
      assert.equal(r.stdout, 'bound file\n1\n');
      // On the host: nothing made in the directory the links name...
      assert.ok(!existsSync(join(host, 'tmp')), 'made on the host');
      assert.ok(!existsSync(join(host, 'f')), 'made on the host');
      // ...but in the rootfs's directory of that name.
      assert.ok(existsSync(join(root, host, 'tmp')));
      assert.ok(existsSync(join(root, host, 'f')));
      assert.ok(!relative(root, join(root, host)).startsWith('..'));
    });

  test('a link loop is an error naming the mount point', async (t) => {
    const root = privateRootfs(t);
    mkdirSync(join(root, 'loop'));
    symlinkSync('/loop/x', join(root, 'loop/x'));
    const spec = specWith(['true'], ['user'], { rootfs: root,
      mounts: [{ destination: '/loop/x/y', type: 'tmpfs', source: 'tmpfs' }],
    });
    await assert.rejects(run(spec),
      /^StartError: \/loop\/x\/y: too many symlinks$/);
  });
});
