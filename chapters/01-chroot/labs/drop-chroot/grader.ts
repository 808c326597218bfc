// Grader for chapter 01, lab "drop-chroot": no CAP_SYS_CHROOT after
// entering the rootfs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  defineLab, escapeAttempt, outcome, type LabContext,
} from '../../../../book/labs.ts';

const RUN = 'chapters/01-chroot/run.ts';
const CAP_CHOWN = 0n;
const CAP_SYS_CHROOT = 18n;

function sh(ctx: LabContext, script: string) {
  return ctx.run(RUN, [ctx.rootfs(), '/bin/sh', '-c', script]);
}

/** The command's capability sets, read with a /proc mounted inside. */
function capabilities(ctx: LabContext): Map<string, bigint> {
  const proc = join(ctx.rootfs(), 'proc');
  const m = spawnSync('mount', ['-t', 'proc', 'proc', proc]);
  assert.equal(m.status, 0, `mount proc: ${m.stderr}`);
  try {
    const r = sh(ctx, 'grep ^Cap /proc/self/status');
    assert.equal(r.status, 0, `grep ^Cap /proc/self/status: ${outcome(r)}`);
    return new Map(r.stdout.trim().split('\n').map((l) => {
      const [name, hex] = l.split(/:\s+/);
      return [name, BigInt(`0x${hex}`)];
    }));
  } finally {
    spawnSync('umount', ['--lazy', proc]);
  }
}

const has = (set: bigint | undefined, cap: bigint) =>
  ((set ?? 0n) >> cap & 1n) === 1n;

export default defineLab({
  title: 'Take away the key',
  checks: [
    {
      name: 'the escape demo fails: chroot(2) is refused with EPERM',
      check(ctx) {
        const r = escapeAttempt(ctx);
        assert.match(r.stderr, /chroot\(.*EPERM/,
          `expected chroot(...): EPERM (${outcome(r)})`);
      },
    },
    {
      name: 'the command is still root, and chown still works',
      check(ctx) {
        const r = sh(ctx, 'id -u; touch /tmp/f && chown 5:5 /tmp/f && ' +
          'stat -c %u:%g /tmp/f');
        assert.equal(r.stdout, '0\n5:5\n', `id -u, then chown 5:5: ` +
          `${JSON.stringify(r.stdout)} (${outcome(r)})`);
      },
    },
    {
      name: 'CAP_SYS_CHROOT is gone from every set of the command, ' +
        'CAP_CHOWN is not',
      check(ctx) {
        const caps = capabilities(ctx);
        for (const set of ['CapBnd', 'CapPrm', 'CapEff', 'CapInh']) {
          assert.ok(!has(caps.get(set), CAP_SYS_CHROOT),
            `${set} still has CAP_SYS_CHROOT (bit 18): ` +
            caps.get(set)?.toString(16));
        }
        assert.ok(has(caps.get('CapEff'), CAP_CHOWN),
          'CapEff lost CAP_CHOWN: give up only CAP_SYS_CHROOT');
        const r = sh(ctx, 'chroot / /bin/true');
        assert.notEqual(r.status, 0, 'chroot / /bin/true worked inside');
      },
    },
  ],
});
