// Grader for chapter 01, lab "pivot-root": enterRoot with pivot_root(2).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import {
  defineLab, escapeAttempt, outcome, type LabContext,
} from '../../../../book/labs.ts';

const RUN = 'chapters/01-chroot/run.ts';

/** Mount points on the host at or below `dir`. */
function hostMountsIn(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Runs `sh -c` in the rootfs and looks at it from the host meanwhile. */
async function whileRunning(ctx: LabContext) {
  const child = ctx.start(RUN, [ctx.rootfs(), '/bin/sh', '-c',
    'echo ready; read line']);
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const ready = await new Promise<boolean>((done) => {
    child.stdout!.once('data', () => done(true));
    child.once('exit', () => done(false));
  });
  assert.ok(ready, `the command never ran: ${err.trim()}`);
  const seen = {
    mounts: hostMountsIn(ctx.rootfs()),
    ns: readlinkSync(`/proc/${child.pid}/ns/mnt`),
  };
  const exited = new Promise((done) => child.once('exit', done));
  child.stdin!.end('go\n');
  await exited;
  return seen;
}

export default defineLab({
  title: 'A root with nothing above it',
  checks: [
    {
      name: 'commands still run in the rootfs, their status passed on',
      check(ctx) {
        const r = ctx.run(RUN, [ctx.rootfs(), '/bin/ls', '-a', '/']);
        const want = ['.', '..', ...readdirSync(ctx.rootfs())].sort();
        assert.deepEqual(r.stdout.split('\n').filter(Boolean).sort(), want,
          `ls -a / should list the rootfs (${outcome(r)})`);
        const s = ctx.run(RUN, [ctx.rootfs(), '/bin/sh', '-c', 'exit 7']);
        assert.equal(s.status, 7, `sh -c 'exit 7': ${outcome(s)}`);
      },
    },
    {
      name: 'the escape demo no longer reaches a file of the host',
      check(ctx) {
        const r = escapeAttempt(ctx);
        assert.match(r.stdout, /inside the chroot, \/ holds: .*bin/,
          `escape.ts did not even enter the rootfs (${outcome(r)})`);
      },
    },
    {
      name: 'the command has a mount namespace of its own; the host sees ' +
        'none of its mounts, while it runs or after',
      async check(ctx) {
        const seen = await whileRunning(ctx);
        assert.notEqual(seen.ns, readlinkSync('/proc/self/ns/mnt'),
          'the command shares the host\'s mount namespace');
        assert.deepEqual(seen.mounts, [], 'while the command ran, the ' +
          'host saw mounts in the rootfs (private propagation?)');
        assert.deepEqual(hostMountsIn(ctx.rootfs()), [],
          'mounts were left in the rootfs after the command ended');
      },
    },
  ],
});
