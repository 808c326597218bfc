// Grader for chapter 03, lab "throttling": --stats counts CFS throttling.
import assert from 'node:assert/strict';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const RUN = 'chapters/03-cgroups/run.ts';
const LINE = /^cgroup: cpu throttled (\d+) of (\d+) periods, (\d+\.\d\d)s$/m;
// One second of a busy loop in a child (PID 1 would ignore SIGTERM).
const SPIN = 'timeout 1 sh -c "while :; do :; done"; true';

function throttling(ctx: LabContext, flags: string[]) {
  const r = ctx.run(RUN, [...flags, '--stats', ctx.rootfs(), '/bin/sh',
    '-c', SPIN]);
  const m = LINE.exec(r.stderr);
  assert.ok(m, `${flags.join(' ')} --stats: no line "cgroup: cpu ` +
    `throttled N of M periods, T.TTs" on stderr (${outcome(r)})`);
  return { throttled: Number(m[1]), periods: Number(m[2]),
    seconds: Number(m[3]), line: m[0] };
}

export default defineLab({
  title: 'Count the throttling',
  checks: [
    {
      name: '--cpus 0.2 and a busy loop: throttled in most periods',
      check(ctx) {
        const t = throttling(ctx, ['--cpus', '0.2']);
        // 1 s is about 10 periods; a loaded host may run it less.
        assert.ok(t.periods >= 3 && t.throttled >= 2 &&
          t.throttled <= t.periods, `expected about 10 periods, most ` +
          `of them throttled: ${t.line}`);
        // A throttled period waits at most the rest of that period
        // (100 ms): more means a unit is off (v1 ns, v2 µs).
        assert.ok(t.seconds >= 0.05 && t.seconds <= t.throttled * 0.1 + 0.05,
          `time spent throttled, at most 0.1 s per throttled period: ` +
          t.line);
      },
    },
    {
      name: 'no CPU limit: 0 of 0 periods',
      check(ctx) {
        const t = throttling(ctx, []);
        assert.equal(t.line, 'cgroup: cpu throttled 0 of 0 periods, 0.00s');
      },
    },
    {
      name: '--cpus 1.5 and one thread: periods counted, none throttled',
      check(ctx) {
        const t = throttling(ctx, ['--cpus', '1.5']);
        assert.ok(t.periods >= 3, `no periods counted: ${t.line}`);
        assert.equal(t.throttled, 0, `one thread cannot use 150 ms of ` +
          `CPU in 100 ms: ${t.line}`);
      },
    },
  ],
});
