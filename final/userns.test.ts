// `skiff daemon --userns-remap default`: root in every container is an
// unprivileged uid on the host, image files still read as root's, and
// `--userns host` opts out. One daemon of its own serves the file.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { idRange } from '../chapters/02-namespaces/defaults.ts';
import { userNsWorks } from '../chapters/02-namespaces/harness.ts';
import type { NetConfig } from '../chapters/05-network/network.ts';
import {
  configEnv, dropConfig, testConfig,
} from '../chapters/05-network/testnet.ts';
import { NO_HUB, removeEngineLeftovers, waitFor } from './testing.ts';
import { isRoot, REPO, uniqueName } from '../support/testing.ts';

const VM = !!process.env.SKIFF_VM;
const TIMEOUT = VM ? 600_000 : 60_000;
const DOCKER = spawnSync('sh', ['-c', 'command -v docker'],
  { encoding: 'utf8' }).stdout.trim();
const skip = !isRoot ? 'needs root (sudo npm test)'
  : !userNsWorks ? 'user namespaces refused here (unshare --user: EPERM)'
    : false;
const cgroupParent = `/${uniqueName('skusr')}`;
const HOST_UID = idRange('uid')[0].hostID;
let dir = '';
let cfg: NetConfig;
let env: Record<string, string> = {};
let daemonPid = 0;

interface Out { status: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[]): Out {
  const r = spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8',
    timeout: TIMEOUT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sk = (...args: string[]) => run(process.execPath,
  ['--import', import.meta.resolve('tsx/esm'), join(REPO, 'final/cli.ts'),
    ...args]);

function ok(...args: string[]): string {
  const r = sk(...args);
  assert.equal(r.status, 0, `skiff ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The Uid line of /proc/PID/status: real, effective, saved, fs. */
function hostUid(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(VM ? '/var/lib/skiff' : tmpdir(), 'skiff-usr-'));
  cfg = testConfig();
  const sock = join(dir, 'skiff.sock');
  env = { ...configEnv(cfg), ...NO_HUB, SKIFF_ROOT: join(dir, 'root'),
    SKIFF_SOCK: sock, SKIFF_CGROUP_PARENT: cgroupParent,
    DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'docker'),
    DOCKER_CLI_HINTS: 'false' };
  delete env.DOCKER_CONTEXT;
  const log = openSync(join(dir, 'daemon.log'), 'a');
  const daemon = spawn(process.execPath, ['--import',
    import.meta.resolve('tsx/esm'), join(REPO, 'final/cli.ts'), 'daemon',
    '--userns-remap', 'default'],
  { env, stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  daemon.unref();
  daemonPid = daemon.pid!;
  // The CLI starts a daemon of its own when the socket does not answer:
  // ask only once this one has bound it.
  await waitFor('the daemon', () => existsSync(sock) &&
    sk('version').status === 0, TIMEOUT);
});

after(() => {
  if (!dir) return;
  const steps = [
    () => {
      const ids = ok('ps', '-aq').split('\n').filter(Boolean);
      if (ids.length) sk('rm', '-f', ...ids);
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

describe('daemon --userns-remap default', { skip }, () => {
  test('the daemon says how image files reach the containers', () => {
    const log = readFileSync(join(dir, 'daemon.log'), 'utf8');
    assert.match(log, new RegExp(`userns-remap default: root in ` +
      `containers is uid ${HOST_UID} .*image files through idmapped`));
  });

  test('root inside is the mapped uid outside', async () => {
    const id = ok('run', '-d', 'busybox', 'sleep', '600').trim();
    const pid = JSON.parse(ok('inspect', id))[0].State.Pid as number;
    assert.equal(hostUid(pid), HOST_UID);
    assert.equal(ok('exec', id, 'id', '-u'), '0\n');
    ok('rm', '-f', id);
  });

  test('image files read as root\'s; root writes its own', () => {
    const out = ok('run', '--rm', 'busybox', 'sh', '-c', 'id -u; ' +
      'head -1 /etc/passwd; stat -c %u /bin/busybox; echo hi > /made; ' +
      'cat /made; stat -c %u /made');
    assert.equal(out, '0\nroot:x:0:0:root:/root:/bin/sh\n0\nhi\n0\n');
  });

  test('--userns host: host root, no user namespace', () => {
    const id = ok('run', '-d', '--userns', 'host', 'busybox', 'sleep',
      '600').trim();
    const pid = JSON.parse(ok('inspect', id))[0].State.Pid as number;
    assert.equal(hostUid(pid), 0);
    assert.equal(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim()
      .split(/\s+/).join(' '), '0 0 4294967295');
    ok('rm', '-f', id);
  });

  test('a bad --userns: one line, exit 125, nothing created', () => {
    const before = readdirSync(join(dir, 'root', 'containers'));
    const r = sk('run', '--userns', 'private', 'busybox', 'true');
    assert.deepEqual([r.status, r.stderr],
      [125, 'skiff: --userns: invalid USER mode\n']);
    assert.deepEqual(readdirSync(join(dir, 'root', 'containers')), before);
    assert.equal(ok('ps', '-aq'), '');
  });

  test('a daemon whose remap names no range does not start', () => {
    const root = join(dir, 'other-root');
    const r = sk('daemon', '--root', root, '--sock', join(dir, 'o.sock'),
      '--userns-remap', 'no-such-user-here');
    assert.deepEqual([r.status, r.stderr], [125, 'skiff: can\'t create ' +
      'ID mappings: no subuid ranges found for user "no-such-user-here" ' +
      'in /etc/subuid\n']);
    assert.equal(existsSync(root), false);
  });

  test('the API refuses a bad UsernsMode', async () => {
    const r = run('curl', ['-s', '--unix-socket', join(dir, 'skiff.sock'),
      '-H', 'Content-Type: application/json', '-d',
      '{"Image":"busybox","Cmd":["true"],"HostConfig":' +
      '{"UsernsMode":"nope"}}', 'http://x/containers/create']);
    assert.match(r.stdout, /"message":"invalid USER mode: nope"/);
    assert.equal(ok('ps', '-aq'), '');
  });

  test('docker run --userns host from docker\'s own CLI',
    { skip: DOCKER ? false : 'no docker CLI on PATH' }, () => {
      const r = run(DOCKER, ['run', '--rm', '--userns', 'host', 'busybox',
        'cat', '/proc/self/uid_map']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim().split(/\s+/).join(' '),
        '0 0 4294967295');
      const remapped = run(DOCKER, ['run', '--rm', 'busybox', 'cat',
        '/proc/self/uid_map']);
      assert.equal(remapped.stdout.trim().split(/\s+/).join(' '),
        `0 ${HOST_UID} 65536`);
    });
});

