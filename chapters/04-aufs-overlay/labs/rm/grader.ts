// Grader for chapter 04, lab "rm": demo.ts run --rm.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const DEMO = 'chapters/04-aufs-overlay/demo.ts';

/** The lab's store, with busybox imported as image "lab" (labs.ts). */
function store(ctx: LabContext): string {
  return ctx.image()[1];
}

/** demo.ts in the lab's store; `run` with the lab's cgroup parent. */
function demo(ctx: LabContext, ...args: string[]) {
  const flags = args[0] === 'run'
    ? ['run', '--cgroup-parent', ctx.cgroupParent, ...args.slice(1)] : args;
  return ctx.run(DEMO, ['--root', store(ctx), ...flags]);
}

/** Paths in the store with this name: a container's traces. */
function traces(ctx: LabContext, name: string): string[] {
  return readdirSync(store(ctx), { recursive: true, encoding: 'utf8' })
    .filter((p) => p.split('/').includes(name));
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(dir));
}

export default defineLab({
  title: 'Containers that clean up after themselves',
  checks: [
    {
      name: 'without --rm the container stays: diff shows what it wrote',
      check(ctx) {
        const c = ctx.unique('keep');
        const r = demo(ctx, 'run', '--name', c, 'busybox', 'sh', '-c',
          'echo hi > /x');
        assert.equal(r.status, 0, `run: ${outcome(r)}`);
        const d = demo(ctx, 'diff', c);
        assert.equal(d.stdout, 'A /x\n', `diff ${c}: ${outcome(d)}`);
      },
    },
    {
      name: 'run --rm: the command runs, then nothing of it is left',
      check(ctx) {
        const c = ctx.unique('rm');
        const r = demo(ctx, 'run', '--rm', '--name', c, 'busybox', 'sh', '-c',
          'echo hi > /x; cat /x');
        assert.equal(r.status, 0, `run --rm: ${outcome(r)}`);
        assert.equal(r.stdout, 'hi\n', `run --rm: ${outcome(r)}`);
        assert.deepEqual(traces(ctx, c), [],
          `the store still holds the container ${c}`);
        assert.notEqual(demo(ctx, 'diff', c).status, 0,
          `diff ${c} still works after run --rm`);
      },
    },
    {
      name: 'run --rm keeps the exit status (3, 127) and still removes',
      check(ctx) {
        for (const [cmd, code] of [[['sh', '-c', 'exit 3'], 3],
          [['no-such-command'], 127]] as const) {
          const c = ctx.unique('rm');
          const r = demo(ctx, 'run', '--rm', '--name', c, 'busybox', ...cmd);
          assert.equal(r.status, code, `${cmd.join(' ')}: ${outcome(r)}`);
          assert.deepEqual(traces(ctx, c), [], `after ${cmd.join(' ')}` +
            `, the store still holds the container ${c}`);
        }
      },
    },
    {
      name: '--rm with a name in use: exit 125, the other one untouched',
      check(ctx) {
        const c = ctx.unique('taken');
        const first = demo(ctx, 'run', '--name', c, 'busybox', 'touch', '/kept');
        assert.equal(first.status, 0, `run: ${outcome(first)}`);
        const r = demo(ctx, 'run', '--rm', '--name', c, 'busybox', 'true');
        assert.equal(r.status, 125, `second run --rm --name ${c}: ` +
          outcome(r));
        assert.equal(r.stderr.trim().split('\n').length, 1,
          `one line expected: ${r.stderr.trim()}`);
        const d = demo(ctx, 'diff', c);
        assert.equal(d.stdout, 'A /kept\n', `the first ${c} lost its ` +
          `layer: diff ${c}: ${outcome(d)}`);
      },
    },
    {
      name: 'no mount is left in the store',
      check(ctx) {
        assert.deepEqual(mountsUnder(store(ctx)), []);
      },
    },
  ],
});
