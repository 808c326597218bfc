// Grader for chapter 03, lab "burst": CFS burst, written and enforced.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_NAMESPACES, defaultSpec } from
  '../../../02-namespaces/defaults.ts';
import type { LinuxResources } from '../../../02-namespaces/spec.ts';
import { startContainer } from '../../../02-namespaces/start.ts';
import { openCgroup } from '../../cgroups/manager.ts';
import { cgroupPathOf, cgroupStep } from '../../step.ts';
import { defineLab, type LabContext } from '../../../../book/labs.ts';

const BURST_FILES = ['cpu.cfs_burst_us', 'cpu.max.burst'];
/** Idle for a second, then a second of a busy loop in a child. */
const IDLE_THEN_SPIN = 'sleep 1; timeout 1 sh -c "while :; do :; done"; true';

/**
 * 2 ms of CPU per 100 ms, and `burst` µs more to borrow: small, so that
 * even on a busy host the loop gets more than its quota.
 */
const limits = (burst: number): LinuxResources =>
  ({ cpu: { quota: 2_000, period: 100_000, burst } } as LinuxResources);

interface Seen {
  /** The burst file of the container's cgroup, as the kernel reads it. */
  burst: string;
  /** Its cpu.stat, as keys and numbers. */
  stat: Map<string, number>;
}

/** Runs `script` in a container with `resources`; its cgroup after. */
async function run(ctx: LabContext, resources: LinuxResources,
  script: string, id = ctx.unique('burst')): Promise<Seen> {
  const spec = defaultSpec({ rootfs: ctx.rootfs(),
    args: ['/bin/sh', '-c', script],
    namespaces: ALL_NAMESPACES.filter((ns) => ns !== 'user') });
  spec.linux.resources = resources;
  const step = cgroupStep({ parent: ctx.cgroupParent });
  const c = await startContainer(spec, { id, steps: [step],
    stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    await c.wait();
    // Still there until destroy: read what the kernel kept.
    const dirs = step.cgroup!.dirs;
    const file = dirs.flatMap((d) => BURST_FILES.map((f) => join(d, f)))
      .find((f) => existsSync(f));
    assert.ok(file, 'this kernel has no CFS burst (Linux 5.14)');
    const stat = readFileSync(join(file, '../cpu.stat'), 'utf8');
    return { burst: readFileSync(file, 'utf8').trim(),
      stat: new Map(stat.trim().split('\n').map((l) => {
        const [k, v] = l.split(' ');
        return [k, Number(v)];
      })) };
  } finally {
    await c.destroy();
  }
}

export default defineLab({
  title: 'Borrow from the next period',
  checks: [
    {
      name: 'a burst of 2 ms: the kernel holds it for the cgroup',
      async check(ctx) {
        const seen = await run(ctx, limits(2_000), 'true');
        assert.equal(seen.burst, '2000', `the cgroup's burst file reads ` +
          `${seen.burst}, not 2000`);
      },
    },
    {
      name: 'after a second of rest, a busy loop runs past its quota: ' +
        'cpu.stat counts bursts',
      async check(ctx) {
        const seen = await run(ctx, limits(2_000), IDLE_THEN_SPIN);
        const bursts = seen.stat.get('nr_bursts') ?? 0;
        assert.ok(bursts >= 1, `nr_bursts is ${bursts}: the loop never ` +
          `used what its quiet periods saved (${[...seen.stat]
            .map(([k, v]) => `${k} ${v}`).join(', ')})`);
      },
    },
    {
      name: 'a burst above the quota: the start fails, no cgroup is left',
      async check(ctx) {
        const id = ctx.unique('burst');
        await assert.rejects(run(ctx, limits(5_000), 'true', id),
          (err: Error) => !/no CFS burst/.test(err.message),
          'a 5 ms burst on a 2 ms quota was accepted');
        const path = cgroupPathOf(defaultSpec({ rootfs: '/', args: [] }),
          id, ctx.cgroupParent);
        let left: string[] = [];
        try {
          left = openCgroup(path).dirs.filter((d) => existsSync(d));
        } catch (err) {
          if (!/no such cgroup/.test((err as Error).message)) throw err;
        }
        assert.deepEqual(left, [], 'the refused cgroup was left behind');
      },
    },
  ],
});
