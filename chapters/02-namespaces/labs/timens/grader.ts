// Grader for chapter 02, lab "timens": a time namespace with offsets.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSpec } from '../../defaults.ts';
import type { Namespace, Spec } from '../../spec.ts';
import { startContainer } from '../../start.ts';
import { defineLab, type LabContext } from '../../../../book/labs.ts';

const YEAR = 365 * 24 * 3600;
const DAY = 24 * 3600;

interface Seen {
  /** What the command printed: its uptime in seconds. */
  uptime: number;
  /** From the host, while it ran: its time namespace and offsets. */
  ns: string;
  offsets: string;
}

const hostUptime = () =>
  Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

/**
 * Starts a container that writes its uptime to a file of its rootfs and
 * sleeps; looks at it from the host meanwhile, then kills it. (A file,
 * not a pipe: the grader must not hang on a container that says nothing.)
 */
async function look(ctx: LabContext, withTime: boolean): Promise<Seen> {
  const root = ctx.rootfs();
  const out = join(root, 'tmp', 'uptime');
  rmSync(out, { force: true });
  const spec = defaultSpec({ rootfs: root, args: ['/bin/sh', '-c',
    'cut -d" " -f1 /proc/uptime > /tmp/uptime.part && ' +
    'mv /tmp/uptime.part /tmp/uptime; exec sleep 60'] });
  if (withTime) {
    // Not in the chapter's types yet: that is the lab.
    spec.linux.namespaces.push({ type: 'time' } as unknown as Namespace);
    Object.assign(spec.linux, { timeOffsets: {
      boottime: { secs: YEAR }, monotonic: { secs: DAY } } });
  }
  const c = await startContainer(spec as Spec, { id: ctx.unique('timens'),
    stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; i < 300 && !existsSync(out); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(existsSync(out), 'the container wrote no /tmp/uptime in 30 s');
    return { uptime: Number(readFileSync(out, 'utf8')),
      ns: readlinkSync(`/proc/${c.pid}/ns/time`),
      offsets: readFileSync(`/proc/${c.pid}/timens_offsets`, 'utf8') };
  } finally {
    c.kill('SIGKILL');
    await c.wait();
    await c.destroy();
  }
}

export default defineLab({
  title: 'A clock of its own',
  checks: [
    {
      name: 'with "time" in its namespaces, PID 1 is in a time ' +
        'namespace of its own, seen from the host',
      async check(ctx) {
        const seen = await look(ctx, true);
        assert.notEqual(seen.ns, readlinkSync('/proc/self/ns/time'),
          'the container\'s PID 1 is in the host\'s time namespace');
      },
    },
    {
      name: 'its offsets are the spec\'s: boottime a year, monotonic a day',
      async check(ctx) {
        const seen = await look(ctx, true);
        const offsets = Object.fromEntries(seen.offsets.trim().split('\n')
          .map((l) => l.trim().split(/\s+/)).map(([k, s, ns]) =>
            [k, `${s} ${ns}`]));
        assert.deepEqual(offsets, { monotonic: `${DAY} 0`,
          boottime: `${YEAR} 0` }, `/proc/PID/timens_offsets: ` +
          JSON.stringify(seen.offsets));
        const ahead = seen.uptime - hostUptime();
        assert.ok(Math.abs(ahead - YEAR) < 600, `uptime inside is ` +
          `${seen.uptime}s, the host's ${hostUptime()}s: expected a year ` +
          'more');
      },
    },
    {
      name: 'without it, the container keeps the host\'s clocks',
      async check(ctx) {
        const seen = await look(ctx, false);
        assert.equal(seen.ns, readlinkSync('/proc/self/ns/time'),
          'a container that did not ask has a time namespace');
        assert.ok(Math.abs(seen.uptime - hostUptime()) < 600,
          `uptime inside is ${seen.uptime}s, the host's ${hostUptime()}s`);
      },
    },
  ],
});
