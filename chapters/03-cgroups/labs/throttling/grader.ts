// Grader for chapter 03, lab "throttling": the cgroup's stats count CFS
// throttling, as `docker stats` would read them.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { ALL_NAMESPACES, defaultSpec } from
  '../../../02-namespaces/defaults.ts';
import type { LinuxResources } from '../../../02-namespaces/spec.ts';
import { startContainer } from '../../../02-namespaces/start.ts';
import { cgroupStep } from '../../step.ts';
import { defineLab, type LabContext } from '../../../../book/labs.ts';

// One second of a busy loop in a child (PID 1 would ignore SIGTERM).
const SPIN = 'timeout 1 sh -c "while :; do :; done"; true';
const FIELDS = ['cpuPeriods', 'cpuThrottledPeriods', 'cpuThrottledNs'];

interface Throttling {
  periods: number;
  throttled: number;
  seconds: number;
  line: string;
}

/** Spins in a container with `resources`; its cgroup's stats after. */
async function throttling(ctx: LabContext, resources: LinuxResources)
  : Promise<Throttling> {
  const spec = defaultSpec({ rootfs: ctx.rootfs(),
    args: ['/bin/sh', '-c', SPIN],
    namespaces: ALL_NAMESPACES.filter((ns) => ns !== 'user') });
  spec.linux.resources = resources;
  const step = cgroupStep({ parent: ctx.cgroupParent });
  const c = await startContainer(spec, { id: ctx.unique('throttle'),
    steps: [step], stdio: ['ignore', 'ignore', 'ignore'] });
  let stats: Record<string, unknown>;
  try {
    await c.wait();
    stats = step.cgroup!.stats() as unknown as Record<string, unknown>;
  } finally {
    await c.destroy();
  }
  const missing = FIELDS.filter((f) => typeof stats[f] !== 'number');
  assert.deepEqual(missing, [], `CgroupStats has no ${missing.join(', ')}`);
  const [periods, throttled, ns] = FIELDS.map((f) => stats[f] as number);
  return { periods, throttled, seconds: ns / 1e9,
    line: `throttled ${throttled} of ${periods} periods, ` +
      `${(ns / 1e9).toFixed(2)}s` };
}

const cpus = (n: number): LinuxResources =>
  ({ cpu: { quota: n * 100_000, period: 100_000 } });

export default defineLab({
  title: 'Count the throttling',
  checks: [
    {
      name: '0.05 CPUs and a busy loop: throttled in most periods',
      async check(ctx) {
        // 5 ms a period: even on a busy host the loop gets more.
        const t = await throttling(ctx, cpus(0.05));
        // 1 s is about 10 periods; a loaded host may run it less.
        assert.ok(t.periods >= 3 && t.throttled >= 2 &&
          t.throttled <= t.periods, `expected about 10 periods, most ` +
          `of them throttled: ${t.line}`);
        // A throttled period waits at most the rest of that period
        // (100 ms) on each CPU the cgroup ran on: more means a unit is
        // off (v1 ns, v2 µs).
        const most = t.throttled * 0.1 * availableParallelism() + 0.05;
        assert.ok(t.seconds >= 0.05 && t.seconds <= most,
          `time spent throttled, at most 0.1 s per throttled period and ` +
          `CPU: ${t.line}`);
      },
    },
    {
      name: 'no CPU limit: 0 of 0 periods',
      async check(ctx) {
        const t = await throttling(ctx, {});
        assert.equal(t.line, 'throttled 0 of 0 periods, 0.00s');
      },
    },
    {
      name: '1.5 CPUs and one thread: periods counted, none throttled',
      async check(ctx) {
        const t = await throttling(ctx, cpus(1.5));
        assert.ok(t.periods >= 3, `no periods counted: ${t.line}`);
        assert.equal(t.throttled, 0, `one thread cannot use 150 ms of ` +
          `CPU in 100 ms: ${t.line}`);
      },
    },
  ],
});
