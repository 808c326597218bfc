// Grader for chapter 02, lab "tmpfs": run.ts --tmpfs PATH[:OPTIONS].
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const RUN = 'chapters/02-namespaces/run.ts';

function sh(ctx: LabContext, flags: string[], script: string) {
  return ctx.run(RUN, [...flags, ctx.rootfs(), '/bin/sh', '-c', script]);
}

/** The line of /proc/mounts (inside) for `path`, or "". */
function mountLine(out: string, path: string): string {
  return out.split('\n').find((l) => l.split(' ')[1] === path) ?? '';
}

/** Host mounts inside the lab's rootfs (the init's are not seen). */
const hostMountsIn = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .filter((l) => l.split(' ')[4]?.startsWith(dir));

export default defineLab({
  title: 'A scratch filesystem in memory',
  checks: [
    {
      name: '--tmpfs /scratch mounts a tmpfs there, nosuid,nodev,noexec',
      check(ctx) {
        const r = sh(ctx, ['--tmpfs', '/scratch'], 'cat /proc/mounts');
        const line = mountLine(r.stdout, '/scratch');
        assert.match(line, /^\S+ \/scratch tmpfs /,
          `no tmpfs on /scratch in the container's /proc/mounts ` +
          `(${outcome(r)})`);
        for (const opt of ['nosuid', 'nodev', 'noexec']) {
          assert.ok(line.split(' ')[3].split(',').includes(opt),
            `/scratch should be ${opt}: ${line}`);
        }
      },
    },
    {
      name: 'it starts empty, is writable by all (mode 1777), and what ' +
        'is written there stays off the rootfs',
      check(ctx) {
        const r = sh(ctx, ['--tmpfs', '/tmp'],
          'ls -A /tmp | wc -l; stat -c %a /tmp; echo hi > /tmp/lab-file && ' +
          'cat /tmp/lab-file');
        assert.equal(r.stdout, '0\n1777\nhi\n', 'expected "0", "1777", ' +
          `"hi" (empty, mode 1777, writable), got ${JSON.stringify(
            r.stdout)} (${outcome(r)})`);
        assert.ok(!existsSync(join(ctx.rootfs(), 'tmp/lab-file')),
          'tmp/lab-file was written into the rootfs on the host');
      },
    },
    {
      name: '--tmpfs PATH:OPTIONS passes size= and mode= to the mount',
      check(ctx) {
        const r = sh(ctx, ['--tmpfs', '/scratch:size=1m,mode=700'],
          'grep " /scratch " /proc/mounts; stat -c %a /scratch; ' +
          'dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>/dev/null' +
          ' || echo full');
        const [line, mode, full] = r.stdout.trim().split('\n');
        assert.match(line ?? '', /[ ,]size=1024k[ ,]/,
          `no size=1024k on /scratch: ${JSON.stringify(line)} ` +
          `(${outcome(r)})`);
        assert.equal(mode, '700', `/scratch has mode ${mode}, not 700`);
        assert.equal(full, 'full', 'writing 2 MiB to a 1m tmpfs worked');
      },
    },
    {
      name: 'repeated --tmpfs flags mount each path',
      check(ctx) {
        const r = sh(ctx, ['--tmpfs', '/a', '--tmpfs', '/b'],
          'cat /proc/mounts');
        for (const p of ['/a', '/b']) {
          assert.match(mountLine(r.stdout, p), / tmpfs /,
            `no tmpfs on ${p} (${outcome(r)})`);
        }
      },
    },
    {
      name: 'the host\'s mount table does not change',
      check(ctx) {
        const r = sh(ctx, ['--tmpfs', '/tmp'],
          'grep -c " /tmp tmpfs " /proc/mounts');
        assert.equal(r.stdout.trim(), '1', `no tmpfs on /tmp inside ` +
          `(${outcome(r)})`);
        assert.deepEqual(hostMountsIn(ctx.rootfs()), [],
          'mounts were left on the host under the rootfs');
      },
    },
    {
      name: 'a relative path is refused: one line, exit 125',
      check(ctx) {
        const r = sh(ctx, ['--tmpfs', 'tmp'], 'echo ran');
        assert.equal(r.status, 125, `--tmpfs tmp: ${outcome(r)}`);
        assert.ok(!r.stdout.includes('ran'), '--tmpfs tmp: command ran');
        assert.equal(r.stderr.trim().split('\n').length, 1,
          `one line expected: ${r.stderr.trim()}`);
      },
    },
  ],
});
