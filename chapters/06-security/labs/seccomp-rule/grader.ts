// Grader for chapter 06, lab "seccomp-rule": a profile that refuses
// setuid and setgid modes to chmod, fchmod and fchmodat.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { compileStatic } from '../../../02-namespaces/build.ts';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const RUN = 'chapters/06-security/run.ts';
const PROFILE = 'chapters/06-security/labs/seccomp-rule/no-setuid.json';

/** A shell line in the demo's container under the profile. */
function sh(ctx: LabContext, line: string) {
  const profile = join(ctx.repo, PROFILE);
  assert.ok(existsSync(profile), `${PROFILE} does not exist yet`);
  const r = ctx.run(RUN, ['--cgroup-parent', ctx.cgroupParent,
    '--network', 'none', '--userns', 'host', '--seccomp', profile,
    ...ctx.image(), '/bin/sh', '-c', line],
  { SKIFF_NET_DIR: ctx.tempDir() });
  assert.notEqual(r.status, 125, `the demo refused: ${outcome(r)}`);
  return r;
}

/** The probe's verdict for each call setting `mode` (octal). */
function chmods(ctx: LabContext, mode: string): string[] {
  const probe = join(ctx.rootfs(), 'bin/probe');
  if (!existsSync(probe)) {
    copyFileSync(compileStatic('probe.c',
      join(ctx.repo, 'chapters/06-security')), probe);
  }
  const r = sh(ctx, ['chmod', 'fchmod', 'fchmodat']
    .map((call) => `/bin/probe ${call}=${mode}`).join('; '));
  return r.stdout.trim().split('\n');
}

export default defineLab({
  title: 'A seccomp rule of your own: no new setuid files',
  checks: [
    {
      name: 'ordinary modes still work',
      check(ctx) {
        for (const mode of ['644', '755', '1777', '700']) {
          assert.deepEqual(chmods(ctx, mode), ['chmod ok', 'fchmod ok',
            'fchmodat ok'], `mode ${mode}`);
        }
      },
    },
    {
      name: 'setuid and setgid modes fail with EPERM',
      check(ctx) {
        for (const mode of ['4755', '2755', '6711', '4000']) {
          assert.deepEqual(chmods(ctx, mode), ['chmod EPERM',
            'fchmod EPERM', 'fchmodat EPERM'], `mode ${mode}`);
        }
      },
    },
    {
      name: 'the default profile\'s refusals stay',
      check(ctx) {
        chmods(ctx, '644'); // puts the probe in place
        const r = sh(ctx, '/bin/probe keyctl bpf; grep Seccomp: ' +
          '/proc/self/status');
        assert.match(r.stdout, /keyctl EPERM/, outcome(r));
        assert.match(r.stdout, /bpf EPERM/, outcome(r));
        assert.match(r.stdout, /Seccomp:\s+2/, outcome(r));
      },
    },
  ],
});
