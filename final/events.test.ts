// The daemon's events (GET /events) through the clients people use:
// docker's CLI (`docker events`), skiff's (`skiff events`) and docker-py
// (`client.events()`). One private daemon serves the file; the tests
// make objects change, then read back what the daemon said about them:
// the past replayed with --since/--until, filters, and a stream that a
// client leaves without leaving a listener in the daemon.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isRoot, uniqueName } from '../support/testing.ts';
import type { EngineEvent } from './daemon/events.ts';
import { DOCKER, TestEngine, TIMEOUT, waitFor } from './testing.ts';
import { clientTimestamp } from './timestamps.ts';

type Ev = EngineEvent;

const PY = spawnSync('python3', ['-c', 'import docker'], { stdio: 'ignore' })
  .status === 0;
const skip = !isRoot ? 'needs root (sudo npm test)'
  : !DOCKER ? 'no docker CLI on PATH (install docker-ce-cli or ' +
    'docker.io to run this file; skiff does not need it)' : false;
let eng: TestEngine;

const ok = (...args: string[]) => eng.dockerOk(...args);

/** Unix seconds with a fraction, as `--since`/`--until` take them. */
const now = () => (Date.now() / 1000).toFixed(3);

/** `docker events ARGS --format '{{json .}}'`, parsed. */
function events(...args: string[]): Ev[] {
  return ok('events', '--format', '{{json .}}', ...args).split('\n')
    .filter(Boolean).map((line) => JSON.parse(line) as Ev);
}

/** What the daemon tells `docker info`: how many event streams are open. */
const listeners = () =>
  Number(ok('info', '--format', '{{.NEventsListener}}').trim());

/** "Action name" of each event, for comparing sequences. */
const said = (list: Ev[]) => list.map((e) =>
  `${e.Type} ${e.Action} ${e.Actor.Attributes.name ?? e.Actor.ID}`);

/** GET `path` on the daemon's socket: its status and body. */
const get = (path: string) => eng.api('GET', path);

before(async () => {
  if (skip) return;
  eng = new TestEngine('skevt');
  await eng.startDaemon();
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('GET /events', { skip }, () => {
  test('run --rm: create, attach, start, die with its code, destroy', () => {
    const since = now();
    const r = eng.docker(['run', '--rm', '--name', 'evrm', '--label',
      'tier=web', 'busybox', 'sh', '-c', 'exit 3']);
    assert.equal(r.status, 3, r.stderr);
    const until = now();
    const got = events('--since', since, '--until', until,
      '--filter', 'container=evrm');
    assert.deepEqual(got.map((e) => e.Action),
      ['create', 'attach', 'start', 'die', 'destroy']);
    const id = got[0].Actor.ID;
    assert.match(id, /^[0-9a-f]{64}$/);
    for (const e of got) {
      // docker's shape, the old fields (status, id, from) included
      assert.deepEqual([e.Type, e.scope, e.Actor.ID, e.status, e.id, e.from],
        ['container', 'local', id, e.Action, id, 'busybox']);
      assert.equal(e.time, Math.floor(e.timeNano / 1e9));
      assert.ok(e.timeNano / 1e9 >= Number(since) - 0.001 &&
        e.timeNano / 1e9 <= Number(until) + 0.001, 'inside the window');
    }
    assert.deepEqual(got[3].Actor.Attributes,
      { exitCode: '3', image: 'busybox', name: 'evrm', tier: 'web' });
    assert.deepEqual(got[0].Actor.Attributes,
      { image: 'busybox', name: 'evrm', tier: 'web' });
  });

  test('skiff events prints what docker events prints', () => {
    const since = now();
    assert.equal(eng.docker(['run', '--rm', '--name', 'evrm2', '--label',
      'tier=web', 'busybox', 'sh', '-c', 'exit 3']).status, 3);
    const window = ['--since', since, '--until', now(),
      '--filter', 'container=evrm2'];
    const mine = eng.sk(['events', ...window]);
    assert.equal(mine.status, 0, mine.stderr);
    assert.equal(mine.stdout, ok('events', ...window));
    const lines = mine.stdout.trim().split('\n');
    assert.equal(lines.length, 5);
    assert.match(lines[3], new RegExp('^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:' +
      '\\d\\d\\.\\d{9}(Z|[+-]\\d\\d:\\d\\d) container die [0-9a-f]{64} ' +
      '\\(exitCode=3, image=busybox, name=evrm2, tier=web\\)$'));
    assert.equal(eng.sk(['events', ...window, '--format',
      '{{.Action}} {{.Actor.Attributes.name}}']).stdout,
    ['create', 'attach', 'start', 'die', 'destroy'].map((action) =>
      `${action} evrm2\n`).join(''));
    const json = eng.sk(['events', ...window, '--format', '{{json .}}']);
    assert.deepEqual(json.stdout.trim().split('\n').map((l) => JSON.parse(l)),
      events(...window));
  });

  test('filters: AND across keys, OR within one, by id, name, label', () => {
    const from = now();
    ok('create', '--name', 'evf1', '--label', 'tier=db', 'busybox', 'true');
    const id2 = ok('run', '-d', '--name', 'evf2', '--label', 'tier=web',
      'busybox', 'sleep', '600').trim();
    ok('tag', 'busybox', 'evimg:1');
    ok('volume', 'create', 'evvol');
    const to = now();
    const pick = (...filters: string[]) => said(events('--since', from,
      '--until', to, ...filters.flatMap((f) => ['--filter', f])));
    const ctr = ['container create evf1', 'container create evf2',
      'container start evf2'];
    // The start joins its network first, as dockerd's: `network connect`.
    const all = [ctr[0], ctr[1], 'network connect bridge', ctr[2],
      'image tag evimg:1', 'volume create evvol'];
    assert.deepEqual(pick(), all);
    assert.deepEqual(pick('type=image'), ['image tag evimg:1']);
    assert.deepEqual(pick('type=volume', 'type=image'),
      ['image tag evimg:1', 'volume create evvol']);
    assert.deepEqual(pick('container=evf1'), ['container create evf1']);
    assert.deepEqual(pick(`container=${id2.slice(0, 12)}`),
      ['container create evf2', 'container start evf2']);
    assert.deepEqual(pick('event=start'), ['container start evf2']);
    assert.deepEqual(pick('event=start', 'event=tag'),
      ['container start evf2', 'image tag evimg:1']);
    assert.deepEqual(pick('type=container', 'event=tag'), []);
    assert.deepEqual(pick('label=tier=db'), ['container create evf1']);
    assert.deepEqual(pick('label=tier'), ctr);
    assert.deepEqual(pick('label=tier', 'label=tier=web'), ctr.slice(1));
    assert.deepEqual(pick('image=busybox'), ctr);
    assert.deepEqual(pick('image=evimg:1'), ['image tag evimg:1']);
    assert.deepEqual(pick('volume=evvol'), ['volume create evvol']);
    ok('rmi', 'evimg:1');
    ok('rm', '-f', 'evf1', 'evf2');
  });

  test('exec, pause, kill, stop, restart, rm -f: dockerd\'s sequence', () => {
    ok('run', '-d', '--name', 'evseq', 'busybox', 'sleep', '600');
    const from = now();
    assert.equal(eng.docker(['exec', 'evseq', 'sh', '-c', 'exit 2']).status,
      2);
    ok('pause', 'evseq');
    ok('unpause', 'evseq');
    ok('top', 'evseq');
    ok('kill', '-s', 'USR1', 'evseq');
    // sleep as pid 1 ignores SIGTERM: the SIGKILL a second later ends it
    ok('stop', '-t', '1', 'evseq');
    ok('restart', 'evseq');
    ok('rm', '-f', 'evseq');
    const got = events('--since', from, '--until', now(),
      '--filter', 'container=evseq');
    const attr = (e: Ev) => e.Actor.Attributes.signal ??
      e.Actor.Attributes.exitCode ?? '';
    assert.deepEqual(got.map((e) => `${e.Action} ${attr(e)}`.trim()), [
      'exec_create: sh -c exit 2', 'exec_start: sh -c exit 2',
      'exec_die 2', 'pause', 'unpause', 'top', 'kill 10', 'kill 15', 'kill 9',
      'die 137', 'stop', 'start', 'restart', 'kill 9', 'die 137',
      'destroy']);
    const execID = got[0].Actor.Attributes.execID;
    assert.match(execID, /^[0-9a-f]{64}$/);
    assert.deepEqual(got.slice(0, 3).map((e) => e.Actor.Attributes.execID),
      [execID, execID, execID]);
    // docker matches exec_start by prefix: the action carries the command
    assert.deepEqual(events('--since', from, '--until', now(),
      '--filter', 'event=exec_start').map((e) => e.Action),
    ['exec_start: sh -c exit 2']);
  });

  test('volumes, networks, images: their events and attributes', () => {
    ok('create', '--name', 'evc', 'busybox', 'true');
    const from = now();
    const net = uniqueName('skev');
    const netId = ok('network', 'create', net).trim();
    ok('network', 'rm', net);
    ok('run', '--rm', '-v', 'evvol2:/data', 'busybox', 'true');
    ok('volume', 'rm', 'evvol2');
    const busybox = ok('image', 'inspect', '-f', '{{.Id}}', 'busybox').trim();
    const tar = join(eng.dir, 'evbusybox.tar');
    ok('save', '-o', tar, 'busybox');
    ok('load', '-i', tar);
    ok('commit', '-m', 'made here', 'evc', 'evcommit:1');
    const made = ok('image', 'inspect', '-f', '{{.Id}}', 'evcommit:1').trim();
    ok('rmi', 'evcommit:1');
    ok('export', '-o', join(eng.dir, 'evc.tar'), 'evc');
    const build = eng.docker(['build', '-q', '-t', 'evbuilt:1', '-'],
      'FROM busybox\nLABEL tier=built\n');
    assert.equal(build.status, 0, build.stderr);
    const built = build.stdout.trim();
    const got = events('--since', from, '--until', now())
      .filter((e) => e.Type !== 'container' ||
        ['commit', 'export'].includes(e.Action))
      // The run's network connect/disconnect: the test above.
      .filter((e) => !/connect$/.test(e.Action));
    const rows = got.map((e) => [e.Type, e.Action, e.Actor.ID,
      e.Actor.Attributes]);
    const ctr = got.find((e) => e.Action === 'mount')?.Actor.Attributes
      .container ?? '';
    assert.match(ctr, /^[0-9a-f]{64}$/);
    assert.deepEqual(rows, [
      ['network', 'create', netId, { name: net, type: 'bridge' }],
      ['network', 'destroy', netId, { name: net, type: 'bridge' }],
      ['volume', 'create', 'evvol2', { driver: 'local' }],
      ['volume', 'mount', 'evvol2', { container: ctr, destination: '/data',
        driver: 'local', propagation: '', 'read/write': 'true' }],
      ['volume', 'unmount', 'evvol2', { container: ctr, driver: 'local' }],
      ['volume', 'destroy', 'evvol2', { driver: 'local' }],
      ['image', 'save', busybox, { name: busybox }],
      ['image', 'load', busybox, { name: busybox }],
      ['image', 'tag', made, { name: 'evcommit:1' }],
      ['container', 'commit', got[9]?.Actor.ID, { comment: 'made here',
        image: 'busybox', imageID: made, imageRef: 'evcommit:1',
        name: 'evc' }],
      ['image', 'untag', made, { name: made }],
      ['image', 'delete', made, { name: made }],
      ['container', 'export', got[9]?.Actor.ID,
        { image: 'busybox', name: 'evc' }],
      ['image', 'tag', built, { name: 'evbuilt:1', tier: 'built' }],
    ]);
  });

  test('a stream sees what comes; a client that goes leaves nothing',
    async () => {
    assert.equal(listeners(), 0);
    const child = spawn(DOCKER, ['events', '--filter', 'type=container',
      '--format', '{{json .}}'], { env: eng.env });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const gone = new Promise((resolve) => child.on('close', resolve));
    await waitFor('the stream\'s listener', () => listeners() === 1);
    const id = ok('run', '-d', '--name', 'evlive', 'busybox', 'sleep',
      '600').trim();
    const seen = () => out.split('\n').filter(Boolean)
      .map((line) => JSON.parse(line) as Ev).filter((e) => e.id === id)
      .map((e) => e.Action);
    await waitFor('its start on the stream', () =>
      seen().includes('start'));
    assert.deepEqual(seen(), ['create', 'start']);
    child.kill('SIGKILL');
    await gone;
    await waitFor('the daemon to drop the listener', () =>
      listeners() === 0);
    assert.equal(ok('inspect', '-f', '{{.State.Running}}', 'evlive'),
      'true\n');
    ok('rm', '-f', 'evlive');
  });

  test('--until in the future: the stream ends then, with what came',
    async () => {
      // docker's CLI reads -8s as eight seconds from now
      const child = spawn(DOCKER, ['events', '--until', '-8s', '--filter',
        'container=evlater', '--format', '{{.Action}}'], { env: eng.env });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      const code = new Promise((resolve) => child.on('close', resolve));
      await waitFor('the stream\'s listener', () => listeners() === 1);
      ok('create', '--name', 'evlater', 'busybox', 'true');
      assert.equal(await code, 0);
      assert.equal(out, 'create\n');
      assert.equal(listeners(), 0);
      ok('rm', 'evlater');
    });

  test('docker-py: events(decode=True, since, until, filters)', {
    skip: !PY && 'no docker-py for python3 (python3-docker)' }, () => {
    const from = Math.floor(Date.now() / 1000) - 1;
    ok('run', '--rm', '--name', 'evpy', 'busybox', 'true');
    const to = Math.ceil(Date.now() / 1000);
    const script = 'import docker, json, sys\n' +
      'c = docker.DockerClient(base_url=sys.argv[1])\n' +
      'print(json.dumps(list(c.events(decode=True, since=int(sys.argv[2]),' +
      ' until=int(sys.argv[3]), filters={"container": "evpy"}))))\n';
    const r = spawnSync('python3', ['-c', script, `unix://${eng.sock}`,
      String(from), String(to)], { encoding: 'utf8', timeout: TIMEOUT });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Ev[];
    assert.deepEqual(got.map((e) => e.Action),
      ['create', 'attach', 'start', 'die', 'destroy']);
    assert.equal(got[3].Actor.Attributes.exitCode, '0');
    assert.ok(got.every((e) => Number.isInteger(e.timeNano) &&
      e.status === e.Action && e.from === 'busybox'));
  });

  test('bad input: one line, 125 from the CLI, 400 from the API', async () => {
    for (const args of [['--since', 'yesterday'], ['--filter', 'bogus']]) {
      const r = eng.sk(['events', ...args]);
      assert.equal(r.status, 125, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /since|filter/);
    }
    const q = (query: string) => get(`/v1.43/events?${query}`);
    assert.equal((await q('since=abc')).status, 400);
    assert.equal((await q('filters=nojson')).status, 400);
    const r = await q('since=20&until=10');
    assert.equal(r.status, 400);
    assert.match(r.body, /cannot be after/);
    // until in the past: the remembered events, then the end
    ok('create', '--name', 'evpast', 'busybox', 'true');
    const past = await q(`until=${now()}&filters=${encodeURIComponent(
      '{"container":["evpast"]}')}`);
    assert.equal(past.status, 200);
    assert.deepEqual(past.body.trim().split('\n')
      .map((line) => JSON.parse(line).Action), ['create']);
    assert.equal(listeners(), 0);
  });
});

describe('--since and --until as the docker CLI sends them', () => {
  test('durations, RFC 3339 times and dates, Unix seconds', () => {
    const now = Date.UTC(2026, 11, 4, 20, 30, 0, 250);
    const at = (value: string) => clientTimestamp(value, now);
    // what docker's CLI 28 sent for the same values, read off the wire
    assert.equal(at('10m'), String(Date.UTC(2026, 11, 4, 20, 20) / 1000));
    assert.equal(at('-10m'), String(Date.UTC(2026, 11, 4, 20, 40) / 1000));
    assert.equal(at('1h30m'), String(Date.UTC(2026, 11, 4, 19, 0) / 1000));
    assert.equal(at('2026-12-04T20:00:00Z'), '1796414400.000000000');
    assert.equal(at('2026-12-04T20:00:00.5+01:00'), '1796410800.500000000');
    assert.equal(at('1733343000.5'), '1733343000.5');
    assert.equal(at('0'), '0');
    const local = new Date(2026, 11, 4).getTime() / 1000;
    assert.equal(at('2026-12-04'), `${local}.000000000`);
    for (const bad of ['yesterday', '2026-13-45', '10 minutes']) {
      assert.throws(() => at(bad), /failed to parse value as time/);
    }
  });
});
