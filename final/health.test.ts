// Healthchecks: `run --health-*` and the image's HEALTHCHECK, run by
// the daemon in the container as an exec on a timer, seen the way a
// user sees them: docker inspect's State.Health, docker ps's STATUS,
// the processes in the container, the events. Driven by docker's CLI
// where it is installed (it is the client these flags must work for),
// by skiff's otherwise. One engine serves the file.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { needsRoot } from '../support/testing.ts';
import { DOCKER, TestEngine, waitFor, type Out } from './testing.ts';

let eng: TestEngine;
/** docker's CLI when there is one, else skiff's: same flags, same API. */
const cli = (args: string[]): Out =>
  DOCKER ? eng.docker(args) : eng.sk(args);
function ok(...args: string[]): string {
  const r = cli(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const state = (name: string) =>
  JSON.parse(ok('inspect', name))[0].State;
const health = (name: string) => state(name).Health;
const statusOf = (name: string) => ok('ps', '-a', '--filter',
  `name=${name}`, '--format', '{{.Names}} {{.Status}}')
  .split('\n').find((line) => line.startsWith(`${name} `)) ?? '';
/** Until State.Health.Status is `status`. */
const until = (name: string, status: string) =>
  waitFor(`${name} ${status}`, () => health(name)?.Status === status);

/** One request to the daemon's socket: status and body's text. */
const api = (method: string, path: string, body?: unknown) =>
  eng.api(method, path, body);

before(async () => {
  if (process.getuid?.() !== 0) return;
  eng = new TestEngine('skhlt');
  await eng.startDaemon();
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('healthchecks', needsRoot, () => {
  test('a passing check: healthy, its log, ps, the event', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    ok('run', '-d', '--name', 'good', '--health-cmd', 'echo ok',
      '--health-interval', '100ms', 'busybox', 'sleep', '600');
    const config = JSON.parse(ok('inspect', 'good'))[0].Config;
    assert.deepEqual(config.Healthcheck,
      { Test: ['CMD-SHELL', 'echo ok'], Interval: 100e6 });
    await until('good', 'healthy');
    const h = health('good');
    assert.equal(h.FailingStreak, 0);
    assert.deepEqual(Object.keys(h.Log[0]),
      ['Start', 'End', 'ExitCode', 'Output']);
    assert.deepEqual([h.Log[0].ExitCode, h.Log[0].Output], [0, 'ok\n']);
    assert.ok(Date.parse(h.Log[0].End) >= Date.parse(h.Log[0].Start));
    assert.match(statusOf('good'), /^good Up .* \(healthy\)$/);
    await waitFor('five probes', () => health('good').Log.length === 5);
    // Only the last five are kept.
    await waitFor('a sixth', () => health('good').Log[0].Start !==
      h.Log[0].Start);
    assert.equal(health('good').Log.length, 5);
    // The change of status is an event (once GET /events exists).
    const events = await api('GET', `/events?since=${since}&until=` +
      `${Math.ceil(Date.now() / 1000) + 1}`);
    if (events.status !== 404) {
      // One JSON message a line, as docker's stream.
      const actions = events.body.split('\n').filter(Boolean)
        .map((line) => JSON.parse(line))
        .filter((e) => e.Actor?.Attributes?.name === 'good')
        .map((e) => e.Action);
      assert.ok(actions.includes('health_status: healthy'),
        actions.join(', '));
    }
    ok('rm', '-f', 'good');
  });

  test('retries failures in a row: unhealthy; exit code 2 fails too',
    async () => {
      ok('run', '-d', '--name', 'bad', '--health-cmd', 'echo no; exit 2',
        '--health-interval', '100ms', '--health-retries', '2', 'busybox',
        'sleep', '600');
      await until('bad', 'unhealthy');
      const h = health('bad');
      assert.ok(h.FailingStreak >= 2, JSON.stringify(h));
      assert.deepEqual([h.Log[0].ExitCode, h.Log[0].Output], [2, 'no\n']);
      assert.match(statusOf('bad'), /^bad Up .* \(unhealthy\)$/);
      ok('rm', '-f', 'bad');
    });

  test('starting: before the first probe, and failures in the start ' +
    'period', async () => {
    // The first probe comes one interval after the start.
    ok('run', '-d', '--name', 'later', '--health-cmd', 'true',
      '--health-interval', '1h', 'busybox', 'sleep', '600');
    assert.deepEqual(health('later'),
      { Status: 'starting', FailingStreak: 0, Log: [] });
    assert.match(statusOf('later'), /^later Up .* \(health: starting\)$/);
    ok('run', '-d', '--name', 'slow', '--health-cmd', 'false',
      '--health-interval', '100ms', '--health-retries', '1',
      '--health-start-period', '1h', 'busybox', 'sleep', '600');
    await waitFor('three probes', () => health('slow').Log.length >= 3);
    assert.deepEqual([health('slow').Status, health('slow').FailingStreak],
      ['starting', 0]);
    ok('rm', '-f', 'later', 'slow');
  });

  test('a probe past its timeout is killed and fails', async () => {
    ok('run', '-d', '--name', 'stuck', '--health-cmd', 'sleep 1000',
      '--health-interval', '100ms', '--health-timeout', '300ms',
      '--health-retries', '1', 'busybox', 'sleep', '600');
    await until('stuck', 'unhealthy');
    await waitFor('three probes', () => health('stuck').Log.length >= 3);
    assert.deepEqual(health('stuck').Log[0].ExitCode, -1);
    assert.equal(health('stuck').Log[0].Output,
      'Health check exceeded timeout (300ms)');
    // Each probe killed: one at most still sleeps (the one running).
    const sleeping = ok('exec', 'stuck', 'ps', '-o', 'args')
      .split('\n').filter((line) => line.trim() === 'sleep 1000');
    assert.ok(sleeping.length <= 1, sleeping.join('\n'));
    ok('rm', '-f', 'stuck');
  });

  test('output: stdout and stderr, 4096 bytes kept and "..."', async () => {
    ok('run', '-d', '--name', 'loud', '--health-cmd',
      'echo out; echo err >&2; head -c 5000 /dev/zero | tr "\\0" a',
      '--health-interval', '100ms', 'busybox', 'sleep', '600');
    await until('loud', 'healthy');
    const out: string = health('loud').Log[0].Output;
    assert.equal(out.length, 4096 + 3);
    assert.match(out, /^(out\nerr\n|err\nout\n)a+\.\.\.$/);
    ok('rm', '-f', 'loud');
  });

  test('the image\'s HEALTHCHECK; --no-healthcheck; flags merged',
    async () => {
      const dir = mkdtempSync(join(eng.dir, 'ctx-'));
      writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\n' +
        'HEALTHCHECK --interval=100ms CMD ["sh", "-c", "echo $0", ' +
        '"exec form"]\nCMD ["sleep", "600"]\n');
      eng.ok('build', '-q', '-t', 'checked', dir);
      ok('run', '-d', '--name', 'img', 'checked');
      await until('img', 'healthy');
      assert.equal(health('img').Log[0].Output, 'exec form\n');
      ok('run', '-d', '--name', 'off', '--no-healthcheck', 'checked');
      const off = JSON.parse(ok('inspect', 'off'))[0];
      // docker's merge fills the image's interval in, as dockerd 20.10.
      assert.deepEqual(off.Config.Healthcheck, { Test: ['NONE'],
        Interval: 100e6 });
      assert.equal(off.State.Health, undefined);
      assert.match(statusOf('off'), /^off Up [^(]*$/);
      // A flag replaces its field only: the image's test still runs.
      ok('run', '-d', '--name', 'merged', '--health-retries', '7',
        'checked');
      const merged = JSON.parse(ok('inspect', 'merged'))[0];
      assert.deepEqual(merged.Config.Healthcheck, { Test: ['CMD', 'sh',
        '-c', 'echo $0', 'exec form'], Interval: 100e6, Retries: 7 });
      await until('merged', 'healthy');
      ok('rm', '-f', 'img', 'off', 'merged');
    });

  test('stop, pause: no probes, "unhealthy"; a start begins again',
    async () => {
      ok('run', '-d', '--name', 'cycle', '--health-cmd', 'true',
        '--health-interval', '100ms', 'busybox', 'sleep', '600');
      await until('cycle', 'healthy');
      ok('pause', 'cycle');
      // moby's: a monitor that stops leaves "unhealthy"; ps says Paused.
      assert.equal(health('cycle').Status, 'unhealthy');
      assert.match(statusOf('cycle'), /\(Paused\)$/);
      ok('unpause', 'cycle');
      await until('cycle', 'healthy');
      ok('stop', '-t', '1', 'cycle');
      const stopped = health('cycle');
      assert.equal(stopped.Status, 'unhealthy');
      assert.match(statusOf('cycle'), /^cycle Exited/);
      // The log is kept over the start; the status starts again.
      ok('start', 'cycle');
      const again = health('cycle');
      assert.equal(again.FailingStreak, 0);
      assert.deepEqual(again.Log.slice(0, 1), stopped.Log.slice(0, 1));
      await until('cycle', 'healthy');
      ok('rm', '-f', 'cycle');
    });

  test('a daemon restart: the log kept, the checks resume', async () => {
    ok('run', '-d', '--name', 'kept', '--health-cmd', 'echo $$',
      '--health-interval', '100ms', 'busybox', 'sleep', '600');
    await until('kept', 'healthy');
    const old = eng.daemonPid();
    process.kill(old, 'SIGTERM');
    await waitFor('the daemon to stop', () => {
      try { process.kill(old, 0); return false; } catch { return true; }
    });
    await eng.startDaemon();
    const found = health('kept');
    assert.equal(state('kept').Running, true);
    assert.ok(found.Log.length > 0);
    const last = found.Log.at(-1).Start;
    await waitFor('a new probe', () =>
      health('kept').Log.at(-1).Start !== last);
    await until('kept', 'healthy');
    ok('rm', '-f', 'kept');
  });

  test('bad values: one line, 125 (CLI) or 400 (API), nothing made',
    async () => {
      const before = ok('ps', '-aq');
      for (const [args, message] of [
        [['--health-interval=-1s'], /--health-interval cannot be negative/],
        [['--no-healthcheck', '--health-cmd', 'x'],
          /--no-healthcheck conflicts with --health-\* options/],
        [['--health-timeout', 'abc'], new RegExp('invalid argument "abc" ' +
          'for "--health-timeout" flag: time: invalid duration "abc"')],
      ] as [string[], RegExp][]) {
        const r = eng.sk(['run', '-d', ...args, 'busybox', 'true']);
        assert.equal(r.status, 125, r.stderr);
        assert.match(r.stderr, message);
      }
      const r = await api('POST', '/containers/create', { Image: 'busybox',
        Cmd: ['true'], Healthcheck: { Test: ['CMD', 'true'],
          Interval: 100 } });
      assert.deepEqual([r.status, JSON.parse(r.body)], [400, { message:
        'Interval in Healthcheck cannot be less than 1ms' }]);
      assert.equal(ok('ps', '-aq'), before);
    });
});
