// Grader for the engine's chapter 8, lab "logs-since": `logs --since`.
import assert from 'node:assert/strict';
import { defineLab, type LabContext } from '../../../../../book/labs.ts';
import { type TestEngine, waitFor } from '../../../../testing.ts';
import { engineOf } from '../../../lab-engine.ts';

// "early" on both streams, then, once /go exists, "late" on both.
const SCRIPT = 'echo early; echo early-err >&2; ' +
  'until [ -e /go ]; do sleep 0.1; done; ' +
  'echo late; echo late-err >&2; sleep 600';

const moments = new WeakMap<TestEngine, Promise<Date>>();

/**
 * Runs the container once per lab, on the lab's engine, and hands
 * `check` the engine and a moment between the early and the late lines.
 * A failed start fails every check the same way, without a second run
 * of a name already taken; the container goes with the lab, pass or
 * fail.
 */
async function withLog(ctx: LabContext,
  check: (e: TestEngine, between: Date) => void): Promise<void> {
  const e = engineOf(ctx);
  let moment = moments.get(e);
  if (!moment) {
    ctx.cleanup(() => e.sk(['rm', '-f', 'talker']));
    moment = talk(e);
    moments.set(e, moment);
  }
  check(e, await moment);
}

/** The container's run: early lines, a moment, then late lines. */
async function talk(e: TestEngine): Promise<Date> {
  e.ok('run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', SCRIPT);
  await waitFor('the early lines', () =>
    e.sk(['logs', 'talker']).stdout === 'early\n');
  // The log's clock is this host's: a moment after the early lines
  // were read back is after they were written.
  await new Promise((r) => setTimeout(r, 50));
  const between = new Date();
  await new Promise((r) => setTimeout(r, 50));
  e.ok('exec', 'talker', 'touch', '/go');
  await waitFor('the late lines', () =>
    e.sk(['logs', 'talker']).stdout === 'early\nlate\n');
  return between;
}

function logs(e: TestEngine, since: string) {
  const r = e.sk(['logs', '--since', since, 'talker']);
  assert.equal(r.status, 0, `logs --since ${since}: ${r.stderr}`);
  return r;
}

export default defineLab({
  title: 'Logs since a moment',
  checks: [
    {
      name: '--since an RFC 3339 time: only what came after, on both ' +
        'streams',
      check: (ctx) => withLog(ctx, (e, between) => {
        const r = logs(e, between.toISOString());
        assert.equal(r.stdout, 'late\n', 'stdout of logs --since ' +
          `${between.toISOString()}, between "early" and "late"`);
        assert.equal(r.stderr, 'late-err\n', 'stderr of the same');
      }),
    },
    {
      name: '--since Unix seconds, with a fraction',
      check: (ctx) => withLog(ctx, (e, between) => {
        const secs = (between.getTime() / 1000).toFixed(3);
        assert.equal(logs(e, secs).stdout, 'late\n',
          `logs --since ${secs}`);
      }),
    },
    {
      name: '--since a duration (10m, 1h): from that long ago',
      check: (ctx) => withLog(ctx, (e) => {
        assert.equal(logs(e, '10m').stdout, 'early\nlate\n',
          'logs --since 10m: everything of the last ten minutes');
        assert.equal(logs(e, '1h').stdout, 'early\nlate\n',
          'logs --since 1h');
        const future = String(Math.floor(Date.now() / 1000) + 3600);
        assert.equal(logs(e, future).stdout, '',
          `logs --since ${future} (an hour from now): nothing yet`);
      }),
    },
    {
      name: 'a value it cannot read: one line, exit 125',
      check: (ctx) => withLog(ctx, (e) => {
        const r = e.sk(['logs', '--since', 'yesterday', 'talker']);
        assert.equal(r.status, 125, `logs --since yesterday: ${r.stderr}`);
        assert.equal(r.stdout, '', 'printed some log all the same');
        assert.equal(r.stderr.trim().split('\n').length, 1,
          `one line on stderr: ${r.stderr}`);
        assert.match(r.stderr, /since/, 'the line names the flag');
      }),
    },
  ],
});
