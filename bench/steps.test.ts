// The shared busybox rootfs must stay as built: every test copies it.
// bench/run.ts starts containers with chapter 05's network step, which
// creates the /etc files it binds in a rootfs that lacks them; it once
// did so in the cache (etc/hosts, hostname, resolv.conf, all empty).
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cachedRootfs, makeBusyboxRootfs } from
  '../chapters/01-chroot/rootfs.ts';
import { networkStep } from '../chapters/05-network/step.ts';
import { dropConfig, testConfig } from '../chapters/05-network/testnet.ts';
import { needsRoot, tempDir, uniqueName } from '../support/testing.ts';
import { startOnce } from './steps.ts';

/** Every path under `dir`: its type, mode, size or link target. */
function tree(dir: string, sub = ''): string[] {
  return readdirSync(join(dir, sub)).sort().flatMap((name) => {
    const rel = join(sub, name);
    const st = lstatSync(join(dir, rel));
    const what = st.isSymbolicLink() ? `-> ${readlinkSync(join(dir, rel))}`
      : st.isDirectory() ? 'dir' : `${st.size} bytes`;
    const line = `${rel} ${(st.mode & 0o7777).toString(8)} ${what}`;
    return st.isDirectory() ? [line, ...tree(dir, rel)] : [line];
  });
}

test('bench\'s in-process starts leave the cached rootfs as built',
  needsRoot, async (t) => {
    const cache = cachedRootfs();
    const fresh = join(tempDir(t), 'rootfs');
    makeBusyboxRootfs(fresh);
    assert.deepEqual(tree(cache), tree(fresh), `${cache} was changed ` +
      'before this test: remove it, the next test builds it again');
    const net = testConfig();
    try {
      await startOnce(uniqueName('skbt'), [networkStep({ config: net })]);
    } finally {
      dropConfig(net);
    }
    assert.deepEqual(tree(cache), tree(fresh));
  });
