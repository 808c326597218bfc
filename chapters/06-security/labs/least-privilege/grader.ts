// Grader for chapter 06, lab "least-privilege": caps.txt lists exactly
// the capabilities the program needs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const RUN = 'chapters/06-security/run.ts';
const LIST = 'chapters/06-security/labs/least-privilege/caps.txt';
const PROGRAM = 'set -e; f=$(mktemp); chown 1234:1234 $f; ' +
  'mknod $(mktemp -u) c 1 3; hostname lab; renice -n -5 $$ >/dev/null; ' +
  'echo done';

/** The names in caps.txt, one per line, blank lines and # ignored. */
function listed(ctx: LabContext): string[] {
  const file = join(ctx.repo, LIST);
  assert.ok(existsSync(file), `${LIST} does not exist yet`);
  return readFileSync(file, 'utf8').split('\n').map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** The program, as root with only `caps`; true when it says done. */
function runsWith(ctx: LabContext, caps: string[]): boolean {
  const r = ctx.run(RUN, ['--cgroup-parent', ctx.cgroupParent,
    '--network', 'none', '--userns', 'host', '--cap-drop', 'ALL',
    ...caps.flatMap((c) => ['--cap-add', c]),
    ...ctx.image(), '/bin/sh', '-c', PROGRAM],
  { SKIFF_NET_DIR: ctx.tempDir() });
  if (r.status === 125) assert.fail(`the demo refused: ${outcome(r)}`);
  return r.status === 0 && r.stdout.trim() === 'done';
}

export default defineLab({
  title: 'Least privilege: the capabilities a program needs',
  checks: [
    {
      name: 'the program runs with the listed capabilities',
      check(ctx) {
        const caps = listed(ctx);
        assert.ok(caps.length > 0, `${LIST} is empty`);
        assert.ok(runsWith(ctx, caps),
          `with ${caps.join(' ')} the program failed`);
      },
    },
    {
      name: 'each listed capability is needed',
      check(ctx) {
        const caps = listed(ctx);
        for (const cap of caps) {
          const others = caps.filter((c) => c !== cap);
          assert.ok(!runsWith(ctx, others),
            `the program runs without ${cap}: leave it out`);
        }
      },
    },
  ],
});
