// docker-compose 1.29 (Debian's, built on docker-py 5) against skiff's
// daemon: a project of two services on a user network, a server that
// serves a file from a named volume and a client that waits for the
// server's healthcheck and reaches it by its service name. Each of the
// commands a user types goes through the Engine API as compose sends
// it; at the end `down -v` must leave nothing on the host. Skipped
// where docker-compose is not installed (scripts/prereqs.sh adds it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostState } from '../chapters/05-network/testnet.ts';
import { hostMounts, isRoot, uniqueName } from '../support/testing.ts';
import { cgroupsBelow, DOCKER, TestEngine, TIMEOUT, waitFor }
  from './testing.ts';

const COMPOSE = spawnSync('sh', ['-c', 'command -v docker-compose'],
  { encoding: 'utf8' }).stdout.trim();
const skip = !isRoot ? 'needs root (sudo npm test)'
  : !COMPOSE ? 'no docker-compose on PATH (scripts/prereqs.sh installs ' +
    'Debian\'s docker-compose; skiff does not need it)' : false;

let eng: TestEngine;
let project: string;
let before0: string;

// The server writes its page into the named volume and serves it; the
// client fetches it by the server's service name each time it starts
// (until it gets it: after a restart the server may not be up yet).
// Both are pid 1 and ignore SIGTERM: a short grace period keeps `stop`
// quick (compose sends it as the stop API's t=).
const COMPOSE_FILE = `version: "2.4"
services:
  server:
    image: busybox
    pull_policy: never
    command: sh -c 'echo "hello $$GREETING" > /www/index.html &&
      exec httpd -f -v -p 8080 -h /www'
    environment:
      GREETING: compose
    volumes: ["www:/www"]
    ports: ["127.0.0.1:0:8080"]
    networks: [back]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "localhost:8080"]
      interval: 1s
      timeout: 5s
      retries: 60
  client:
    image: busybox
    pull_policy: never
    command: sh -c 'until wget -q -O- http://server:8080/; do sleep 1;
      done; exec sleep 600'
    depends_on:
      server:
        condition: service_healthy
    networks: [back]
    stop_grace_period: 1s
networks:
  back:
volumes:
  www:
`;

interface Out { status: number | null; stdout: string; stderr: string }

/** `docker-compose ARGS...` in the project's directory. */
function compose(...args: string[]): Out {
  const r = spawnSync(COMPOSE, args, { cwd: join(eng.dir, 'project'),
    env: { ...eng.env, COMPOSE_PROJECT_NAME: project,
      // without a docker CLI, exec and run use the API themselves
      ...DOCKER ? {} : { COMPOSE_INTERACTIVE_NO_CLI: '1' } },
    encoding: 'utf8', timeout: TIMEOUT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The command must succeed; returns its stdout. */
function ok(...args: string[]): string {
  const r = compose(...args);
  assert.equal(r.status, 0, `docker-compose ${args.join(' ')}: ` +
    `${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** What the engine made on the host: the same before up and after down. */
function footprint(): string {
  const objects = (what: string) => eng.docker([what, 'ls', '-q']).stdout
    .split('\n').filter(Boolean).sort();
  return JSON.stringify({ net: JSON.parse(hostState(eng.cfg)),
    containers: eng.docker(['ps', '-aq']).stdout.trim(),
    networks: objects('network'), volumes: objects('volume'),
    cgroups: cgroupsBelow(eng.cgroupParent),
    mounts: hostMounts().filter((m) => m.startsWith(eng.dir)),
    state: readdirSync(join(eng.root, 'containers')) }, null, 1);
}

/** `docker inspect` of the project's container `service_N`. */
function inspect(service: string, n = 1) {
  const r = eng.docker(['inspect', `${project}_${service}_${n}`]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout)[0];
}

/** The rows of `docker-compose ps`, each as [name, state, ports]. */
function psRows(): string[][] {
  return ok('ps').split('\n').slice(2).filter(Boolean).map((line) => {
    const cols = line.split(/\s{2,}/);
    return [cols[0], cols[2], cols[3] ?? ''];
  });
}

before(async () => {
  if (skip) return;
  eng = new TestEngine('skcmp');
  project = uniqueName('skc');
  await eng.startDaemon();
  // The default bridge and its chains come with the first container.
  assert.equal(eng.docker(['run', '--rm', 'busybox', 'true']).status, 0);
  spawnSync('mkdir', [join(eng.dir, 'project')]);
  writeFileSync(join(eng.dir, 'project', 'docker-compose.yml'),
    COMPOSE_FILE);
  before0 = footprint();
});

after(() => {
  if (!eng) return;
  compose('down', '-v', '-t', '1');
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('docker-compose against skiff\'s daemon', { skip }, () => {
  test('up -d: network, volume, healthcheck, depends_on, names', () => {
    const r = compose('up', '-d');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`Creating network "${project}_back"`));
    assert.match(r.stderr, new RegExp(`Creating volume "${project}_www"`));
    assert.doesNotMatch(r.stdout + r.stderr, /Pulling/);
    // depends_on: the client was started once the server was healthy
    const server = inspect('server');
    assert.equal(server.State.Health?.Status, 'healthy');
    assert.equal(server.Config.Labels['com.docker.compose.project'],
      project);
    assert.ok(server.Config.Env.includes('GREETING=compose'));
    assert.deepEqual(Object.keys(server.NetworkSettings.Networks),
      [`${project}_back`]);
    assert.equal(server.Mounts[0]?.Name, `${project}_www`);
    assert.equal(inspect('client').State.Running, true);
  });

  test('the client reached the server by its service name', async () => {
    await waitFor('the client\'s page', () =>
      compose('logs', '--no-color', 'client').stdout
        .includes('hello compose'));
  });

  test('ps: names, states, health and the published port', () => {
    const rows = psRows();
    assert.deepEqual(rows.map((r) => r[0]),
      [`${project}_client_1`, `${project}_server_1`]);
    assert.equal(rows[0][1], 'Up');
    assert.equal(rows[1][1], 'Up (healthy)');
    assert.match(rows[1][2], /^127\.0\.0\.1:\d+->8080\/tcp$/);
  });

  test('port: the host port answers on loopback', () => {
    const hostPort = ok('port', 'server', '8080').trim();
    assert.match(hostPort, /^127\.0\.0\.1:\d+$/);
    const r = spawnSync('wget', ['-q', '-O-', `http://${hostPort}/`],
      { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.stdout, 'hello compose\n', r.stderr);
  });

  test('logs: the server\'s requests, prefixed by service', () => {
    const out = ok('logs', '--no-color', 'server');
    assert.match(out, /^server_1 +\| .*response:200$/m);
  });

  test('exec: env and the named volume of the service', () => {
    assert.equal(ok('exec', '-T', 'server', 'sh', '-c',
      'echo $GREETING; cat /www/index.html'), 'compose\nhello compose\n');
    assert.equal(compose('exec', '-T', 'server', 'sh', '-c', 'exit 3')
      .status, 3);
  });

  test('run --rm: a one-off client on the network, removed after', () => {
    const r = compose('run', '--rm', '-T', 'client', 'wget', '-q', '-O-',
      'http://server:8080/');
    assert.deepEqual([r.status, r.stdout], [0, 'hello compose\n'],
      r.stderr);
    assert.equal(eng.docker(['ps', '-aq', '--filter',
      'label=com.docker.compose.oneoff=True']).stdout, '');
    assert.equal(eng.docker(['ps', '-aq']).stdout.trim().split('\n')
      .length, 2);
  });

  test('up --scale client=2: one more client, the rest up to date', () => {
    const ids = [inspect('server').Id, inspect('client').Id];
    const r = compose('up', '-d', '--scale', 'client=2');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`${project}_server_1 is up-to-date`));
    assert.deepEqual([inspect('server').Id, inspect('client').Id], ids);
    assert.equal(inspect('client', 2).State.Running, true);
    assert.deepEqual(psRows().map((row) => row[0]),
      [`${project}_client_1`, `${project}_client_2`, `${project}_server_1`]);
  });

  test('restart, stop, start: the same containers, the page again',
    async () => {
      const started = inspect('server').State.StartedAt;
      ok('restart');
      assert.notEqual(inspect('server').State.StartedAt, started);
      assert.equal(inspect('client', 2).State.Running, true);
      ok('stop');
      // stopped: no ports (dockerd releases them, NetworkSettings.Ports
      // is {} until the next start)
      for (const [name, state, ports] of psRows()) {
        assert.match(state, /^Exit \d+$/, name);
        assert.equal(ports, '', name);
      }
      ok('start');
      await waitFor('the server healthy', () =>
        psRows().map((row) => row[1]).join() === 'Up,Up,Up (healthy)');
      // client_1 fetched the page at up, restart and start
      await waitFor('the page again', () =>
        (compose('logs', '--no-color', 'client').stdout
          .match(/^client_1 +\| hello compose$/gm) ?? []).length >= 3);
    });

  test('up -d after a change: recreated, its volume kept', async () => {
    // compose compares its config-hash label with the file's: the
    // server is renamed aside, replaced and removed; its dependents too
    const before = inspect('server').Id;
    ok('exec', '-T', 'server', 'touch', '/www/kept');
    writeFileSync(join(eng.dir, 'project', 'docker-compose.yml'),
      COMPOSE_FILE.replace('GREETING: compose', 'GREETING: again'));
    const r = compose('up', '-d');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Recreating ${project}_server_1`));
    assert.notEqual(inspect('server').Id, before);
    assert.equal(compose('exec', '-T', 'server', 'ls', '/www/kept').status,
      0, 'the volume\'s file');
    assert.deepEqual(psRows().map((row) => row[0]),
      [`${project}_client_1`, `${project}_server_1`]);
    // compose 1.29 keeps the client ("is up-to-date"); its name lookup
    // must now find the new server.
    await waitFor('the new page', () => compose('exec', '-T', 'client',
      'wget', '-q', '-O-', 'http://server:8080/').stdout
      .includes('hello again'));
  });

  test('down -v: nothing is left', () => {
    const r = compose('down', '-v', '-t', '1');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Removing network ${project}_back`));
    assert.match(r.stderr, new RegExp(`Removing volume ${project}_www`));
    assert.equal(footprint(), before0);
  });
});
