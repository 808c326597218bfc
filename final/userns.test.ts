// `skiff daemon --userns-remap default`: root in every container is an
// unprivileged uid on the host, image files still read as root's, and
// `--userns host` opts out. One daemon of its own serves the file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { idRange } from '../chapters/02-namespaces/defaults.ts';
import { userNsWorks } from '../chapters/02-namespaces/harness.ts';
import { isRoot } from '../support/testing.ts';
import { DOCKER, TestEngine } from './testing.ts';

const skip = !isRoot ? 'needs root (sudo npm test)'
  : !userNsWorks ? 'user namespaces refused here (unshare --user: EPERM)'
    : false;
const HOST_UID = idRange('uid')[0].hostID;
let eng: TestEngine;
const sk = (...args: string[]) => eng.sk(args);
const ok = (...args: string[]) => eng.ok(...args);

/** The Uid line of /proc/PID/status: real, effective, saved, fs. */
function hostUid(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

before(async () => {
  if (skip) return;
  eng = new TestEngine('skusr');
  await eng.startDaemon('--userns-remap', 'default');
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('daemon --userns-remap default', { skip }, () => {
  test('the daemon says how image files reach the containers', () => {
    const log = readFileSync(join(eng.dir, 'daemon.log'), 'utf8');
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
    const before = readdirSync(join(eng.root, 'containers'));
    const r = sk('run', '--userns', 'private', 'busybox', 'true');
    assert.deepEqual([r.status, r.stderr],
      [125, 'skiff: --userns: invalid USER mode\n']);
    assert.deepEqual(readdirSync(join(eng.root, 'containers')), before);
    assert.equal(ok('ps', '-aq'), '');
  });

  test('a daemon whose remap names no range does not start', () => {
    const root = join(eng.dir, 'other-root');
    const r = sk('daemon', '--root', root, '--sock', join(eng.dir, 'o.sock'),
      '--userns-remap', 'no-such-user-here');
    assert.deepEqual([r.status, r.stderr], [125, 'skiff: can\'t create ' +
      'ID mappings: no subuid ranges found for user "no-such-user-here" ' +
      'in /etc/subuid\n']);
    assert.equal(existsSync(root), false);
  });

  test('the API refuses a bad UsernsMode', async () => {
    const r = spawnSync('curl', ['-s', '--unix-socket', eng.sock,
      '-H', 'Content-Type: application/json', '-d',
      '{"Image":"busybox","Cmd":["true"],"HostConfig":' +
      '{"UsernsMode":"nope"}}', 'http://x/containers/create'],
    { encoding: 'utf8' });
    assert.match(r.stdout, /"message":"invalid USER mode: nope"/);
    assert.equal(ok('ps', '-aq'), '');
  });

  test('docker run --userns host from docker\'s own CLI',
    { skip: DOCKER ? false : 'no docker CLI on PATH' }, () => {
      const r = eng.docker(['run', '--rm', '--userns', 'host', 'busybox',
        'cat', '/proc/self/uid_map']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim().split(/\s+/).join(' '),
        '0 0 4294967295');
      const remapped = eng.docker(['run', '--rm', 'busybox', 'cat',
        '/proc/self/uid_map']);
      assert.equal(remapped.stdout.trim().split(/\s+/).join(' '),
        `0 ${HOST_UID} 65536`);
    });
});

