// Grader for chapter 02, lab "timens": a time namespace with offsets.
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
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

/** Starts a container with `spec`, and looks at it while it waits. */
async function look(ctx: LabContext, withTime: boolean): Promise<Seen> {
  const spec = defaultSpec({ rootfs: ctx.rootfs(), args: ['/bin/sh', '-c',
    'cut -d" " -f1 /proc/uptime; read line'] });
  if (withTime) {
    // Not in the chapter's types yet: that is the lab.
    spec.linux.namespaces.push({ type: 'time' } as unknown as Namespace);
    Object.assign(spec.linux, { timeOffsets: {
      boottime: { secs: YEAR }, monotonic: { secs: DAY } } });
  }
  const c = await startContainer(spec as Spec, { id: ctx.unique('timens'),
    stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((done) => {
      let out = '';
      c.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) done(out.split('\n')[0]);
      });
      c.stdout!.on('close', () => done(out));
    });
    const seen = { uptime: Number(line),
      ns: readlinkSync(`/proc/${c.pid}/ns/time`),
      offsets: readFileSync(`/proc/${c.pid}/timens_offsets`, 'utf8') };
    c.stdin!.end('done\n');
    await c.wait();
    return seen;
  } finally {
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
