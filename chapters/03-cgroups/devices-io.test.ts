// Block devices: the devices controller keeps a container away from the
// host's disks; blkio/io throttles the ones it may use.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { describe, test } from 'node:test';
import { needsRoot } from '../../support/testing.ts';
import { cgroupVersion, type Cgroup } from './cgroups/manager.ts';
import { DEFAULT_DEVICE_RULES } from './controllers/devices.ts';
import { majorMinor } from './flags.ts';
import {
  holdScript, loopDevice, startIn, testCgroup, waitPrinted,
} from './testing.ts';
import type { LinuxResources } from '../02-namespaces/spec.ts';

const V = cgroupVersion();
const MiB = 2 ** 20;

function devOf(path: string) {
  return majorMinor(statSync(path, { bigint: true }).rdev);
}

/** Inside a container: mknod the loop device, read it, use /dev/null. */
async function probeDevices(t: Parameters<typeof loopDevice>[0],
  resources: LinuxResources) {
  const { major, minor } = devOf(loopDevice(t, 1));
  const c = await startIn(t, resources, ['sh', '-c', [
    `mknod /dev/disk b ${major} ${minor} && echo mknod-ok`,
    'head -c 512 /dev/disk >/dev/null && echo read-ok',
    'echo x >/dev/null && echo null-ok',
    'head -c 4 /dev/zero | wc -c'].join('\n')]);
  await c.wait();
  return c;
}

describe(`chapter 03: devices (cgroup v${V})`, needsRoot, () => {
  test('Docker\'s rules: a block device cannot be opened, /dev/null can',
    async (t) => {
      const c = await probeDevices(t, { devices: DEFAULT_DEVICE_RULES });
      // mknod is allowed ("b *:* m"), opening is not.
      assert.match(c.stdout(), /mknod-ok/);
      assert.doesNotMatch(c.stdout(), /read-ok/);
      assert.match(c.stderr(), /Operation not permitted/);
      assert.match(c.stdout(), /null-ok\n4\n/);
    });

  test('without rules the same read works (the control)', async (t) => {
    const c = await probeDevices(t, { devices: [] });
    assert.match(c.stdout(), /mknod-ok\nread-ok\nnull-ok\n4\n/,
      c.stderr());
  });

  test('a denied mknod fails too', async (t) => {
    const c = await startIn(t, { devices: [{ allow: false,
      access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3,
      access: 'rwm' }] }, ['sh', '-c',
      'mknod /dev/disk b 7 0 || echo mknod-denied; echo >/dev/null && ' +
      'echo null-ok']);
    // The exit can be seen before the last output is read (slow VMs).
    await waitPrinted(c, 'null-ok');
    assert.match(c.stdout(), /mknod-denied\nnull-ok\n/);
  });
});

/**
 * Runs dd inside a new cgroup with `r` and returns the seconds dd itself
 * reports ("3145728 bytes ... copied, 3.0 s"): starting the processes
 * takes long and varies (seconds in a loaded, emulated VM), copying
 * unthrottled takes milliseconds.
 */
async function ddSeconds(t: Parameters<typeof loopDevice>[0],
  r: LinuxResources, dd: string): Promise<{ secs: number; cg: Cgroup }> {
  const cg = await testCgroup(t, r);
  const p = holdScript(t, dd);
  cg.addProcess(p.pid);
  p.release();
  const { code } = await p.exited;
  assert.equal(code, 0, p.stderr());
  // The exit can be seen before dd's last line is read (a loaded host).
  for (let i = 0; i < 250 && !/copied/.test(p.stderr()); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = /copied, ([\d.e-]+) s/.exec(p.stderr());
  assert.ok(m, p.stderr());
  return { secs: Number(m[1]), cg };
}

describe(`chapter 03: block I/O throttling (cgroup v${V})`, needsRoot, () => {
  test('1 MiB/s: reading 3 MiB with O_DIRECT takes about 3 s', async (t) => {
    const dev = loopDevice(t, 8);
    const rate = [{ ...devOf(dev), rate: MiB }];
    const dd = `dd if=${dev} of=/dev/null bs=64k count=48 iflag=direct`;
    const free = await ddSeconds(t, {}, dd);
    const slow = await ddSeconds(t, { blockIO: {
      throttleReadBpsDevice: rate } }, dd);
    // Unthrottled, a loop device on tmpfs reads 3 MiB in milliseconds.
    // Throttled, the first 1 MiB may pass at once (the budget of the
    // first second), the rest at 1 MiB/s.
    assert.ok(slow.secs > 1.8 && free.secs < 1,
      `throttled ${slow.secs}s, free ${free.secs}s`);
  });

  test('1 MiB/s: writing 3 MiB with O_DIRECT takes about 3 s', async (t) => {
    const dev = loopDevice(t, 8);
    const rate = [{ ...devOf(dev), rate: MiB }];
    const dd = `dd if=/dev/zero of=${dev} bs=64k count=48 oflag=direct`;
    const { secs, cg } = await ddSeconds(t, { blockIO: {
      throttleWriteBpsDevice: rate } }, dd);
    // Unthrottled: milliseconds, as in the read test.
    assert.ok(secs > 1.8, `throttled write took ${secs}s`);
    // Accounting sees the bytes.
    assert.ok(cg.stats().ioWriteBytes >= 3 * MiB,
      `ioWriteBytes ${cg.stats().ioWriteBytes}`);
  });
});
