// Docker's own CLI against skiff's daemon: the daemon speaks the Docker
// Engine API (v1.43) where they overlap, so `docker run`, logs, exec,
// stop, rm, images and inspect work with DOCKER_HOST pointing at its
// socket. One daemon (its own root, socket, bridge, subnet, chains and
// cgroup parent) serves the file. Skipped where no `docker` binary is
// installed: skiff needs none, so the prerequisites do not add one.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tty from 'node:tty';
import { openPty, setWinsize } from
  '../chapters/02-namespaces/console.ts';
import type { NetConfig } from '../chapters/05-network/network.ts';
import {
  configEnv, dropConfig, testConfig,
} from '../chapters/05-network/testnet.ts';
import { NO_HUB, removeEngineLeftovers, waitFor } from './testing.ts';
import { isRoot, REPO, uniqueName } from
  '../support/testing.ts';

const VM = !!process.env.SKIFF_VM;
const TIMEOUT = VM ? 600_000 : 60_000;
const DOCKER = spawnSync('sh', ['-c', 'command -v docker'],
  { encoding: 'utf8' }).stdout.trim();
const skip = !isRoot ? 'needs root (sudo npm test)'
  : !DOCKER ? 'no docker CLI on PATH (install docker-ce-cli or ' +
    'docker.io to run this file; skiff does not need it)' : false;
const cgroupParent = `/${uniqueName('skdck')}`;
let dir = '';
let cfg: NetConfig;
let env: Record<string, string> = {};
let daemonPid = 0;

interface Out { status: number | null; stdout: string; stderr: string }

/** `docker ARGS...` talking to this file's daemon. */
function docker(args: string[], input?: string): Out {
  const r = spawnSync(DOCKER, args, { cwd: dir, env, input,
    encoding: 'utf8', timeout: TIMEOUT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The command must succeed; returns its stdout. */
function ok(...args: string[]): string {
  const r = docker(args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}


before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(VM ? '/var/lib/skiff' : tmpdir(), 'skiff-dck-'));
  cfg = testConfig();
  const root = join(dir, 'root');
  const sock = join(dir, 'skiff.sock');
  env = { ...configEnv(cfg), ...NO_HUB, SKIFF_ROOT: root, SKIFF_SOCK: sock,
    SKIFF_CGROUP_PARENT: cgroupParent, DOCKER_HOST: `unix://${sock}`,
    // docker keeps its config (and contexts) here, not in ~/.docker
    DOCKER_CONFIG: join(dir, 'docker-config'), DOCKER_CLI_HINTS: 'false' };
  delete env.DOCKER_CONTEXT;
  const log = openSync(join(dir, 'daemon.log'), 'a');
  const daemon = spawn(process.execPath, ['--import',
    import.meta.resolve('tsx/esm'), join(REPO, 'final/cli.ts'), 'daemon'],
  { env, stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  daemon.unref();
  daemonPid = daemon.pid!;
  // A fresh root seeds busybox first: minutes in the emulated VM.
  await waitFor('the daemon', () => docker(['version']).status === 0,
    TIMEOUT);
});

after(() => {
  if (!dir) return;
  const steps = [
    () => {
      const ids = docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length) docker(['rm', '-f', ...ids]);
    },
    () => process.kill(daemonPid, 'SIGTERM'),
    () => spawnSync('sh', ['-c', `while kill -0 ${daemonPid}; do ` +
      'sleep 0.1; done'], { timeout: 20_000 }),
    () => dropConfig(cfg),
  ];
  for (const step of steps) {
    try { step(); } catch { /* the next one still runs */ }
  }
  const left = removeEngineLeftovers(dir, cgroupParent);
  assert.deepEqual(left, [], 'mounts left behind');
});

describe('docker CLI against skiff\'s daemon', { skip }, () => {
  test('run --rm: output, stderr apart, exit code, nothing left', () => {
    // docker's run: create, attach (hijacked), wait (its headers come
    // before the start is sent), start; the daemon removes it (--rm).
    const r = docker(['run', '--rm', 'busybox', 'sh', '-c',
      'echo out; echo err >&2; exit 3']);
    assert.deepEqual([r.status, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
    assert.equal(ok('run', '--rm', 'busybox', 'echo', 'hi'), 'hi\n');
    assert.equal(docker(['run', '--rm', '-i', 'busybox', 'sh', '-c',
      'cat; echo done'], 'typed\n').stdout, 'typed\ndone\n');
    assert.equal(ok('ps', '-aq'), '');
  });

  test('run: a command that cannot start, an image not here', () => {
    // docker's CLI exits 127/126 by the words of the daemon's error.
    for (const [cmd, code] of [['nosuch', 127], ['/etc/passwd', 126]]) {
      const r = docker(['run', '--rm', 'busybox', String(cmd)]);
      assert.equal(r.status, code, r.stderr);
      assert.match(r.stderr, /Error response from daemon: exec "/);
    }
    const r = docker(['run', '--rm', 'busybx']);
    assert.equal(r.status, 125);
    // docker's CLI pulls what create does not find: skiff's Docker Hub
    // here is a closed port on loopback
    assert.match(r.stderr, new RegExp('^Unable to find image ' +
      '\'busybx:latest\' locally\n.*pull busybx:latest: connect to '));
    assert.equal(ok('ps', '-aq'), '');
  });

  test('run -d, logs, exec, stop, start, wait, rm', async () => {
    const id = ok('run', '-d', '--name', 'box', 'busybox', 'sh', '-c',
      'echo hello; echo oops >&2; exec sleep 600').trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.match(ok('ps'), new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+` +
      '.*Up .*\\s+box$', 'm'));
    await waitFor('logs', () => docker(['logs', 'box']).stdout ===
      'hello\n');
    const logs = docker(['logs', 'box']);
    assert.deepEqual([logs.stdout, logs.stderr], ['hello\n', 'oops\n']);
    assert.equal(ok('exec', 'box', 'echo', 'hi'), 'hi\n');
    assert.equal(ok('exec', '-e', 'X=2', '-w', '/etc', 'box', 'sh', '-c',
      'echo $X $(pwd)'), '2 /etc\n');
    assert.equal(docker(['exec', 'box', 'sh', '-c', 'exit 9']).status, 9);
    const missing = docker(['exec', 'box', 'nosuch']);
    assert.equal(missing.status, 127);
    assert.match(missing.stderr, /exec "nosuch": not found/);
    assert.equal(ok('stop', '-t', '1', 'box'), 'box\n');
    assert.match(ok('ps', '-a'), /Exited \(137\) .*\s+box$/m);
    ok('start', 'box');
    assert.equal(ok('kill', 'box'), 'box\n');
    assert.equal(ok('wait', 'box'), '137\n');
    assert.equal(ok('rm', 'box'), 'box\n');
    assert.equal(ok('ps', '-aq'), '');
    assert.match(docker(['logs', 'box']).stderr, /No such container: box/);
  });

  test('images, tag, rmi, inspect', () => {
    assert.match(ok('images'), new RegExp('^REPOSITORY\\s+TAG\\s+IMAGE ID' +
      '\\s+CREATED\\s+SIZE\\n(.*\\n)*busybox\\s+latest\\s+[0-9a-f]{12}\\s'));
    ok('tag', 'busybox', 'skdck:1');
    assert.match(ok('images', 'skdck'), /^skdck\s+1\s/m);
    assert.equal(ok('rmi', 'skdck:1'), 'Untagged: skdck:1\n');
    const image = JSON.parse(ok('image', 'inspect', 'busybox'))[0];
    assert.match(image.Id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(image.RepoTags, ['busybox:latest']);
    ok('run', '-d', '--name', 'seen', '-e', 'A=1', 'busybox', 'sleep',
      '600');
    const c = JSON.parse(ok('inspect', 'seen'))[0];
    assert.equal(c.Name, '/seen');
    assert.equal(c.State.Running, true);
    assert.ok(c.Config.Env.includes('A=1'));
    assert.equal(c.Image, image.Id);
    assert.equal(ok('inspect', '-f', '{{.State.Status}} {{.Config.Image}}',
      'seen'), 'running busybox\n');
    // The container's pid is a real process of this host.
    assert.match(readFileSync(`/proc/${c.State.Pid}/cmdline`, 'utf8'),
      /^sleep\x00600\x00$/);
    ok('rm', '-f', 'seen');
  });

  test('run -it: a shell on the terminal, its size, its exit code',
    async () => {
    const pty = openPty();
    setWinsize(pty.master, 24, 80);
    const child = spawn(DOCKER, ['run', '-it', '--rm', 'busybox', 'sh'],
      { cwd: dir, env, stdio: [pty.slave, pty.slave, pty.slave],
        detached: true });
    closeSync(pty.slave);
    const master = new tty.ReadStream(pty.master);
    let seen = '';
    master.on('data', (d: Buffer) => { seen += d.toString(); });
    master.on('error', () => {}); // EIO once docker has gone
    const exit = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        setTimeout(() => master.destroy(), 100);
        resolve(code);
      }));
    await waitFor('the prompt', () => /\/ # /.test(seen), TIMEOUT)
      .catch((err) => assert.fail(`${err.message}: ${JSON.stringify(seen)}`));
    master.write('stty size; echo $((6*7))\r');
    await waitFor(`the answer in ${JSON.stringify(seen)}`,
      () => /24 80\r\n42\r\n/.test(seen));
    master.write('exit 4\r');
    assert.equal(await exit, 4);
    assert.equal(ok('ps', '-aq'), '');
  });
});
