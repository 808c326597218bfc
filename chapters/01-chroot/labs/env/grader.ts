// Grader for chapter 01, lab "env": run.ts -e NAME=VALUE.
import assert from 'node:assert/strict';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const RUN = 'chapters/01-chroot/run.ts';

/** Runs `sh -c script` in the rootfs with the given flags. */
function sh(ctx: LabContext, flags: string[], script: string,
  hostEnv: Record<string, string> = {}) {
  return ctx.run(RUN, [...flags, ctx.rootfs(), '/bin/sh', '-c', script],
    hostEnv);
}

function envOf(ctx: LabContext, flags: string[],
  hostEnv: Record<string, string> = {}): string[] {
  const r = ctx.run(RUN, [...flags, ctx.rootfs(), '/usr/bin/env'], hostEnv);
  assert.equal(r.status, 0, `env: ${outcome(r)}`);
  return r.stdout.trim().split('\n');
}

export default defineLab({
  title: 'Pass environment variables',
  checks: [
    {
      name: '-e NAME=VALUE sets a variable for the command',
      check(ctx) {
        const r = sh(ctx, ['-e', 'GREETING=hello'], 'echo "$GREETING"');
        assert.equal(r.stdout, 'hello\n',
          `echo $GREETING printed ${JSON.stringify(r.stdout)} ` +
          `(${outcome(r)})`);
      },
    },
    {
      name: '--env NAME=VALUE, --env=NAME=VALUE, repeated',
      check(ctx) {
        const r = sh(ctx, ['-e', 'A=1', '--env', 'B=2', '--env=C=3'],
          'echo "$A$B$C"');
        assert.equal(r.stdout, '123\n', `-e A=1 --env B=2 --env=C=3: ` +
          `echo $A$B$C printed ${JSON.stringify(r.stdout)} (${outcome(r)})`);
      },
    },
    {
      name: 'a value keeps its spaces and further "=" signs',
      check(ctx) {
        const r = sh(ctx, ['-e', 'Q=a=b c'], 'echo "$Q"');
        assert.equal(r.stdout, 'a=b c\n', `-e 'Q=a=b c' gave ` +
          `${JSON.stringify(r.stdout)} (${outcome(r)})`);
      },
    },
    {
      name: '-e HOME=/tmp replaces the default HOME, keeps PATH',
      check(ctx) {
        const env = envOf(ctx, ['-e', 'HOME=/tmp']);
        const homes = env.filter((l) => l.startsWith('HOME='));
        assert.deepEqual(homes, ['HOME=/tmp'],
          `HOME lines in the environment: ${JSON.stringify(homes)}`);
        assert.ok(env.some((l) => l.startsWith('PATH=/')),
          'the default PATH went missing');
      },
    },
    {
      name: 'the command is looked up in the container\'s PATH',
      check(ctx) {
        const r = ctx.run(RUN, ['-e', 'PATH=/nowhere', ctx.rootfs(), 'ls']);
        assert.equal(r.status, 127,
          `-e PATH=/nowhere, then ls: expected exit 127, ${outcome(r)}`);
        const ok = ctx.run(RUN, ['-e', 'PATH=/bin', ctx.rootfs(), 'ls', '/']);
        assert.equal(ok.status, 0, `-e PATH=/bin, then ls: ${outcome(ok)}`);
      },
    },
    {
      name: '-e NAME copies the host\'s value, or leaves it out if unset',
      check(ctx) {
        const host = { SKIFF_LAB_COLOR: 'blue' };
        const r = sh(ctx, ['-e', 'SKIFF_LAB_COLOR'],
          'echo "${SKIFF_LAB_COLOR-unset}"', host);
        assert.equal(r.stdout, 'blue\n', `host SKIFF_LAB_COLOR=blue, ` +
          `-e SKIFF_LAB_COLOR gave ${JSON.stringify(r.stdout)} ` +
          `(${outcome(r)})`);
        const env = envOf(ctx, ['-e', 'SKIFF_LAB_UNSET']);
        assert.ok(!env.some((l) => l.startsWith('SKIFF_LAB_UNSET')),
          '-e SKIFF_LAB_UNSET (unset on the host) appeared in the ' +
          'environment');
      },
    },
    {
      name: 'nothing else leaks from the host\'s environment',
      check(ctx) {
        const env = envOf(ctx, ['-e', 'A=1'], { SKIFF_LAB_SECRET: 'x' });
        assert.ok(!env.some((l) => l.startsWith('SKIFF_LAB_SECRET=')),
          'the host\'s SKIFF_LAB_SECRET reached the command');
      },
    },
  ],
});
