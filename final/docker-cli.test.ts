// Docker's own CLI against skiff's daemon: the daemon speaks the Docker
// Engine API (v1.43) where they overlap, so `docker run`, logs, exec,
// stop, rm, images and inspect work with DOCKER_HOST pointing at its
// socket. One daemon (its own root, socket, bridge, subnet, chains and
// cgroup parent) serves the file. Skipped where no `docker` binary is
// installed: skiff needs none, so the prerequisites do not add one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import tty from 'node:tty';
import { openPty, setWinsize } from
  '../chapters/02-namespaces/console.ts';
import { isRoot } from '../support/testing.ts';
import { DOCKER, TestEngine, TIMEOUT, waitFor } from './testing.ts';

const skip = !isRoot ? 'needs root (sudo npm test)'
  : !DOCKER ? 'no docker CLI on PATH (install docker-ce-cli or ' +
    'docker.io to run this file; skiff does not need it)' : false;
let eng: TestEngine;
const docker = (args: string[], input?: string) => eng.docker(args, input);

/** The command must succeed; returns its stdout. */
const ok = (...args: string[]) => eng.dockerOk(...args);

before(async () => {
  if (skip) return;
  eng = new TestEngine('skdck');
  await eng.startDaemon();
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
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
      { cwd: eng.dir, env: eng.env,
        stdio: [pty.slave, pty.slave, pty.slave],
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
