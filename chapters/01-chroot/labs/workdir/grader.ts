// Grader for chapter 01, lab "workdir": run.ts -w DIR.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const RUN = 'chapters/01-chroot/run.ts';

function pwdWith(ctx: LabContext, flags: string[], rootfs = ctx.rootfs()) {
  const r = ctx.run(RUN, [...flags, rootfs, '/bin/pwd']);
  return { r, pwd: r.stdout.trim(), rootfs };
}

export default defineLab({
  title: 'Start the command in a chosen directory',
  checks: [
    {
      name: 'without -w the command starts in /',
      check(ctx) {
        const { r, pwd } = pwdWith(ctx, []);
        assert.equal(pwd, '/', `pwd printed "${pwd}" (${outcome(r)})`);
      },
    },
    {
      name: '-w /etc starts the command in the rootfs\'s /etc',
      check(ctx) {
        const { r, pwd } = pwdWith(ctx, ['-w', '/etc']);
        assert.equal(pwd, '/etc',
          `expected pwd to print "/etc", got "${pwd}" (${outcome(r)})`);
        const ls = ctx.run(RUN, ['-w', '/etc', ctx.rootfs(), '/bin/ls']);
        const etc = readdirSync(join(ctx.rootfs(), 'etc')).sort();
        assert.deepEqual(ls.stdout.split('\n').filter(Boolean), etc,
          `ls in -w /etc should list the rootfs's /etc (${etc.join(', ')})` +
          `, got ${JSON.stringify(ls.stdout.slice(0, 60))} (${outcome(ls)})`);
      },
    },
    {
      name: '--workdir DIR and --workdir=DIR work like -w',
      check(ctx) {
        for (const flags of [['--workdir', '/root'], ['--workdir=/root']]) {
          const { r, pwd } = pwdWith(ctx, flags);
          assert.equal(pwd, '/root', `${flags.join(' ')}: pwd printed ` +
            `"${pwd}" (${outcome(r)})`);
        }
      },
    },
    {
      name: 'a missing directory is created inside the rootfs, not the host',
      check(ctx) {
        const top = `/${ctx.unique('skiff-lab-')}`;
        const { r, pwd, rootfs } = pwdWith(ctx, ['-w', `${top}/app`]);
        const onHost = existsSync(top);
        rmSync(top, { recursive: true, force: true });
        assert.ok(!onHost, `${top} was created on the host`);
        assert.equal(pwd, `${top}/app`,
          `pwd printed "${pwd}" (${outcome(r)})`);
        const inside = join(rootfs, top, 'app');
        assert.ok(existsSync(inside) && statSync(inside).isDirectory(),
          `${top}/app is not a directory in the rootfs`);
      },
    },
    {
      name: 'a relative workdir is refused: exit 125, "absolute" in the error',
      check(ctx) {
        const { r, pwd } = pwdWith(ctx, ['-w', 'etc']);
        assert.equal(r.status, 125, `-w etc: ${outcome(r)}`);
        assert.match(r.stderr, /absolute/, `-w etc: ${outcome(r)}`);
        assert.equal(pwd, '', '-w etc: the command ran anyway');
      },
    },
    {
      name: 'a workdir that is a file: one line, and the command never runs',
      check(ctx) {
        const r = ctx.run(RUN, ['-w', '/etc/passwd', ctx.rootfs(),
          '/bin/echo', 'ran']);
        assert.notEqual(r.status, 0, '-w /etc/passwd: exit 0');
        assert.ok(!r.stdout.includes('ran'), '-w /etc/passwd: command ran');
        const lines = r.stderr.trim().split('\n');
        assert.ok(lines.length === 1 && lines[0].includes('/etc/passwd'),
          `expected one line naming /etc/passwd, got: ${r.stderr.trim()}`);
      },
    },
  ],
});
