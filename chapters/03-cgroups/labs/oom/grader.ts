// Grader for chapter 03, lab "oom": say when the OOM killer struck.
import assert from 'node:assert/strict';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const RUN = 'chapters/03-cgroups/run.ts';
const OOM = /^skiff: out of memory: .*/m;
// A 64 MiB buffer, every page touched, in a 16 MiB cgroup.
const HOG = 'dd if=/dev/zero of=/dev/null bs=64M count=1';

function sh(ctx: LabContext, flags: string[], script: string) {
  return ctx.run(RUN, [...flags, ctx.rootfs(), '/bin/sh', '-c', script]);
}

export default defineLab({
  title: 'Say why the container died',
  checks: [
    {
      name: 'a command the OOM killer ends: exit 137 and one line ' +
        'saying so, with the limit',
      check(ctx) {
        const r = ctx.run(RUN, ['--memory', '16m', ctx.rootfs(),
          ...`/bin/${HOG}`.split(' ')]);
        assert.equal(r.status, 137, `--memory 16m, ${HOG}: ${outcome(r)}`);
        const line = OOM.exec(r.stderr)?.[0];
        assert.ok(line, 'no "skiff: out of memory: ..." line on stderr, ' +
          `which says: ${JSON.stringify(r.stderr.trim())}`);
        assert.match(line, /\b1 process\b/, `how many were killed? ${line}`);
        assert.match(line, /16(\.0)?\s?MiB/, `the limit is missing: ${line}`);
      },
    },
    {
      name: 'a child killed, the command carries on: exit 0, still said',
      check(ctx) {
        const r = sh(ctx, ['--memory', '16m'], `${HOG}; echo carried on`);
        assert.equal(r.status, 0, outcome(r));
        assert.match(r.stdout, /carried on/, 'the shell did not go on');
        assert.match(r.stderr, OOM, 'no "skiff: out of memory: ..." line, ' +
          `stderr: ${JSON.stringify(r.stderr.trim())}`);
      },
    },
    {
      name: 'kill -9 is not out of memory: exit 137, no such line',
      check(ctx) {
        // Not PID 1 itself: the kernel spares the namespace's init.
        const r = sh(ctx, ['--memory', '16m'],
          'sh -c \'kill -9 $$\'; exit $?');
        assert.equal(r.status, 137, `a child's kill -9 $$, then exit $?: ` +
          outcome(r));
        assert.doesNotMatch(r.stderr, OOM,
          'the demo blamed memory for a kill -9');
      },
    },
    {
      name: 'a command within its limit: no such line',
      check(ctx) {
        const r = sh(ctx, ['--memory', '64m'],
          'dd if=/dev/zero of=/dev/null bs=1M count=8 2>/dev/null; echo ok');
        assert.equal(r.stdout, 'ok\n', outcome(r));
        assert.doesNotMatch(r.stderr, OOM, 'out of memory, but it was not');
      },
    },
  ],
});
