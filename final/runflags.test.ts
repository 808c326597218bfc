// `docker run`'s flags that reach the container through HostConfig:
// --tmpfs, --read-only, --mount, volumes seeded from the image, --ulimit,
// -P with --expose, and the security and device flags. Each is looked
// at from inside the container (mountinfo, ulimit, /proc) or from the
// host (docker port, a connection on 127.0.0.1); bad input gets
// docker's error, exit 125, and leaves no container or volume.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync, readFileSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isRoot } from '../support/testing.ts';
import { DOCKER, TestEngine, waitFor } from './testing.ts';

const skip = !isRoot ? 'needs root (sudo npm test)'
  : !DOCKER ? 'no docker CLI on PATH' : false;
let eng: TestEngine;

const ok = (...args: string[]) => eng.dockerOk(...args);

/** `docker run --rm busybox sh -c SCRIPT` with FLAGS; its output. */
function inside(flags: string[], script: string): string {
  return ok('run', '--rm', ...flags, 'busybox', 'sh', '-c', script);
}

/** The mountinfo line of `dest` inside a container run with FLAGS. */
function mountLine(flags: string[], dest: string): string {
  return inside(flags, `grep " ${dest} " /proc/self/mountinfo`).trim();
}

/** Nothing made: no container, no volume. */
function nothingLeft(): void {
  assert.equal(ok('ps', '-aq'), '');
  assert.equal(ok('volume', 'ls', '-q'), '');
}

/** docker run refusing: exit 125, docker's words, nothing made. */
function refused(pattern: RegExp, ...args: string[]): void {
  const r = eng.docker(['run', '--rm', ...args]);
  assert.equal(r.status, 125, r.stdout + r.stderr);
  assert.match(r.stderr, pattern);
  nothingLeft();
}

/** POST /containers/create with `body`, as any API client may send. */
const create = (body: object) =>
  eng.api('POST', '/v1.41/containers/create', body);

before(async () => {
  if (!isRoot) return;
  eng = new TestEngine('skrfl');
  await eng.startDaemon();
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('docker run flags reach the container', { skip }, () => {
  test('--tmpfs: noexec,nosuid,nodev unless asked, size and mode', () => {
    assert.match(mountLine(['--tmpfs', '/t'], '/t'),
      /^\S+ \S+ \S+ \/ \/t rw,nosuid,nodev,noexec,\S* - tmpfs tmpfs rw$/);
    const line = mountLine(['--tmpfs', '/t:exec,size=2m,mode=700'], '/t');
    assert.match(line, / \/t rw,nosuid,nodev,relatime - tmpfs /);
    assert.match(line, /size=2048k,mode=700$/);
    refused(/invalid tmpfs option \["bogus"\]/, '--tmpfs', '/t:bogus',
      'busybox', 'true');
  });

  test('--read-only: / refuses writes; tmpfs, /dev/shm still written',
    () => {
      const out = inside(['--read-only', '--tmpfs', '/run'],
        'touch /x 2>&1; touch /run/a /dev/shm/a && echo written; ' +
        'grep " /etc/hosts " /proc/self/mountinfo');
      assert.match(out, /touch: \/x: Read-only file system\n/);
      assert.match(out, /written\n/);
      assert.match(out, / \/etc\/hosts ro,/); // as docker binds it
      assert.match(inside([], 'touch /x && echo rw'), /rw/);
    });

  test('--mount bind: read-only, propagation; a missing source', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skrfl-bind-'));
    writeFileSync(join(dir, 'f'), 'from the host\n');
    const out = inside(['--mount', `type=bind,src=${dir},dst=/b,ro`],
      'cat /b/f; touch /b/g 2>&1; true');
    assert.equal(out, 'from the host\ntouch: /b/g: Read-only file system\n');
    ok('create', '--name', 'bnd', '--mount',
      `type=bind,source=${dir},target=/b,bind-propagation=rslave`,
      'busybox');
    const [m] = JSON.parse(ok('inspect', '-f', '{{json .Mounts}}', 'bnd'));
    assert.deepEqual([m.Type, m.Source, m.Destination, m.RW,
      m.Propagation], ['bind', dir, '/b', true, 'rslave']);
    ok('rm', 'bnd');
    refused(new RegExp('invalid mount config for type "bind": bind ' +
      'source path does not exist: /nonexistent-skrfl'),
      '--mount', 'type=bind,src=/nonexistent-skrfl,dst=/m', 'busybox');
    refused(/Duplicate mount point: \/m/, '-v', `${dir}:/m`, '--mount',
      'type=tmpfs,dst=/m', 'busybox');
    rmSync(dir, { recursive: true });
  });

  test('--mount tmpfs: tmpfs-size and tmpfs-mode', () => {
    const out = inside(['--mount',
      'type=tmpfs,dst=/m,tmpfs-size=1m,tmpfs-mode=1770'],
    'grep " /m " /proc/self/mountinfo; stat -c %a /m');
    assert.match(out, new RegExp(' /m rw,nosuid,nodev,noexec,\\S* - ' +
      'tmpfs tmpfs rw,size=1024k,mode=1770\n1770\n$'));
    refused(new RegExp('invalid mount config for type "tmpfs": field ' +
      'Source must not be specified'),
      '--mount', 'type=tmpfs,src=x,dst=/m', 'busybox');
  });

  test('a new volume holds the image\'s files, owners and modes', () => {
    // Named, by -v and by --mount: seeded once, while empty.
    const etc = inside(['-v', 'seeded:/etc'],
      'stat -c "%u %g %a" /etc/passwd; grep -c root /etc/passwd');
    assert.equal(etc, `${inside([], 'stat -c "%u %g %a" /etc/passwd')}1\n`);
    const volume = JSON.parse(ok('volume', 'inspect', 'seeded'))[0];
    assert.ok(statSync(join(volume.Mountpoint, 'passwd')).isFile());
    assert.match(inside(['--mount', 'type=volume,src=seeded,dst=/x'],
      'ls /x'), /^group\n(.*\n)*passwd\n/);
    // volume-nocopy: left empty.
    assert.equal(inside(['--mount',
      'type=volume,src=bare,dst=/etc,volume-nocopy'], 'ls /etc | wc -l')
      .trim(), '3'); // hostname, hosts, resolv.conf bound over it
    ok('volume', 'rm', 'seeded', 'bare');
  });

  test('an image\'s VOLUME: an anonymous volume, seeded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skrfl-ctx-'));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\n' +
      'RUN mkdir /data && echo seeded > /data/f && chown -R 7:8 /data ' +
      '&& chmod 750 /data\nVOLUME /data\n');
    assert.equal(eng.sk(['build', '-q', '-t', 'skrfl-vol', dir]).status, 0);
    ok('run', '--name', 'vol', 'skrfl-vol', 'sh', '-c',
      'cat /data/f; stat -c "%u %g %a" /data');
    assert.equal(ok('logs', 'vol'), 'seeded\n7 8 750\n');
    const [m] = JSON.parse(ok('inspect', '-f', '{{json .Mounts}}', 'vol'));
    assert.equal(m.Type, 'volume');
    assert.equal(m.Destination, '/data');
    assert.equal(readFileSync(join(m.Source, 'f'), 'utf8'), 'seeded\n');
    ok('rm', '-v', 'vol');
    ok('rmi', 'skrfl-vol');
    rmSync(dir, { recursive: true });
    nothingLeft();
  });

  test('--ulimit: the limits inside; an unknown one is refused', async () => {
    assert.equal(inside(['--ulimit', 'nofile=1024:2048'],
      'ulimit -n; ulimit -Hn'), '1024\n2048\n');
    refused(/invalid ulimit type: foo/, '--ulimit', 'foo=1', 'busybox');
    // Past the CLI's own check, the daemon's: 400, nothing made.
    const r = await create({ Image: 'busybox', Cmd: ['true'],
      HostConfig: { Ulimits: [{ Name: 'foo', Soft: 1, Hard: 1 }] } });
    assert.equal(r.status, 400, r.body);
    assert.match(r.body, /invalid ulimit type: foo/);
    nothingLeft();
  });

  test('-P: every exposed port on a free host port', async () => {
    ok('run', '-d', '--name', 'web', '-P', '--expose', '80',
      '--expose', '90/udp', 'busybox', 'httpd', '-f', '-p', '80', '-h',
      '/etc');
    const ports = ok('port', 'web');
    const m = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(ports);
    assert.ok(m, ports);
    assert.match(ports, /^90\/udp -> 0\.0\.0\.0:\d+$/m);
    const url = `http://127.0.0.1:${m[1]}/hostname`;
    await waitFor('the web server', () =>
      spawnSync('wget', ['-qO-', url]).status === 0);
    const id = ok('inspect', '-f', '{{.Id}}', 'web').trim();
    assert.equal(spawnSync('wget', ['-qO-', url], { encoding: 'utf8' })
      .stdout, `${id.slice(0, 12)}\n`);
    ok('rm', '-f', 'web');
  });

  test('security flags: caps, no-new-privileges, seccomp', () => {
    assert.match(inside(['--cap-drop', 'ALL'], 'grep CapEff /proc/self/status'),
      /CapEff:\s+0+\n/);
    assert.match(inside(['--security-opt', 'no-new-privileges'],
      'grep NoNewPrivs /proc/self/status'), /NoNewPrivs:\s+1/);
    assert.match(inside(['--security-opt', 'seccomp=unconfined'],
      'grep Seccomp: /proc/self/status'), /Seccomp:\s+0/);
    assert.match(inside([], 'grep Seccomp: /proc/self/status'),
      /Seccomp:\s+2/);
  });

  test('--sysctl, --domainname, --group-add, --shm-size, --device',
    async () => {
    assert.equal(inside(['--sysctl', 'kernel.shmmax=1000000',
      '--domainname', 'example.org'], 'cat /proc/sys/kernel/shmmax ' +
      '/proc/sys/kernel/domainname'), '1000000\nexample.org\n');
    assert.equal(inside(['--group-add', '10', '--group-add', 'nogroup'],
      'id -G'), '0 10 65534\n');
    assert.match(mountLine(['--shm-size', '8m'], '/dev/shm'),
      /size=8192k$/);
    assert.match(inside(['--device', '/dev/null:/dev/skrfl:r'],
      'ls -l /dev/skrfl'), /^cr.* 1, +3 /);
    // The CLI refuses it first; the daemon too: it would set the host's.
    const r = await create({ Image: 'busybox', Cmd: ['true'],
      HostConfig: { Sysctls: { 'vm.swappiness': '1' } } });
    assert.equal(r.status, 400, r.body);
    assert.match(JSON.parse(r.body).message,
      /sysctl "vm.swappiness" is not in a separate/);
    nothingLeft();
  });
});

describe('skiff run sends the same flags', { skip: isRoot ? false
  : 'needs root (sudo npm test)' }, () => {
  test('--tmpfs, --ulimit, --mount, -P --expose; bad ones refused', () => {
    const r = eng.sk(['run', '--rm', '--tmpfs', '/t:size=1m', '--ulimit',
      'nofile=100:200', '--mount', 'type=tmpfs,dst=/m,tmpfs-mode=700',
      'busybox', 'sh', '-c', 'grep -c " /t .*size=1024k" ' +
      '/proc/self/mountinfo; ulimit -n; stat -c %a /m']);
    assert.equal(r.stdout, '1\n100\n700\n', r.stderr);
    eng.fails(125, /invalid ulimit type: foo/, 'run', '--ulimit', 'foo=1',
      'busybox');
    eng.fails(125, /cannot mix 'volume-\*' options with mount type 'bind'/,
      'run', '--mount', 'type=bind,src=/tmp,dst=/x,volume-nocopy',
      'busybox');
    const id = eng.ok('run', '-d', '-P', '--expose', '80', 'busybox',
      'sleep', '60').trim();
    const [c] = JSON.parse(eng.ok('inspect', id));
    assert.match(c.NetworkSettings.Ports['80/tcp'][0].HostPort, /^\d+$/);
    eng.ok('rm', '-f', id);
    assert.equal(eng.ok('ps', '-aq'), '');
  });
});
