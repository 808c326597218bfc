// The Engine API's endpoints that real clients call and skiff lacked
// (issue 16): rename, update, changes (docker diff), system df, build
// prune under docker system prune, archive and import bodies without a
// Content-Type, docker-py's exec streams, and streams whose client
// goes away. Driven by docker's CLI and docker-py, as a user would, on a
// private daemon (TestEngine); skipped where a client is missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { isRoot } from '../support/testing.ts';
import { DOCKER, TestEngine, waitFor } from './testing.ts';

const PY_DOCKER = spawnSync('python3', ['-c', 'import docker'])
  .status === 0;
const skip = !isRoot ? 'needs root (sudo npm test)'
  : !DOCKER ? 'no docker CLI on PATH' : false;
let eng: TestEngine;

/** The command must succeed; returns its stdout. */
const ok = (...args: string[]) => eng.dockerOk(...args);

/** A cgroup file of a running container, read from the host. */
function cgroupFile(id: string, v1: [string, string], v2: string)
  : string {
  const unified = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const dir = unified ? join('/sys/fs/cgroup', eng.cgroupParent, id)
    : join('/sys/fs/cgroup', v1[0], eng.cgroupParent, id);
  return readFileSync(join(dir, unified ? v2 : v1[1]), 'utf8').trim();
}

before(async () => {
  if (skip) return;
  eng = new TestEngine('skendp');
  await eng.startDaemon();
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('endpoints real clients call', { skip }, () => {
  test('rename: running or not, docker\'s refusals', () => {
    const id = ok('run', '-d', '--name', 'ren1', 'busybox', 'sleep', '600')
      .trim();
    ok('create', '--name', 'ren2', 'busybox', 'true');
    const since = String(Math.floor(Date.now() / 1000) - 1);
    assert.equal(ok('rename', 'ren1', 'renamed'), '');
    assert.equal(ok('events', '--since', since, '--until',
      String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'event=rename',
      '--format', '{{.Actor.Attributes.oldName}} ' +
      '{{.Actor.Attributes.name}}'), '/ren1 renamed\n');
    assert.equal(ok('inspect', '-f', '{{.Name}} {{.State.Running}}', id),
      '/renamed true\n');
    assert.match(eng.docker(['inspect', 'ren1']).stderr,
      /No such object: ren1/);
    const taken = eng.docker(['rename', 'renamed', 'ren2']);
    assert.equal(taken.status, 1);
    assert.match(taken.stderr, new RegExp('Error when allocating new ' +
      'name: Conflict\\. The container name "/ren2" is already in use ' +
      'by container "[0-9a-f]{64}"'));
    const bad = eng.docker(['rename', 'renamed', '_bad']);
    assert.ok(bad.stderr.includes('Invalid container name (/_bad), only ' +
      '[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'), bad.stderr);
    assert.match(eng.docker(['rename', 'renamed', 'renamed']).stderr,
      /Renaming a container with the same name as its current name/);
    ok('rename', 'ren2', 'ren1'); // a stopped one; its old name is free
    assert.equal(ok('ps', '-a', '--format', '{{.Names}}').split('\n')
      .filter((n) => n.startsWith('ren')).sort().join(' '),
    'ren1 renamed');
    ok('rm', '-f', 'renamed', 'ren1');
  });

  test('update: the limits reach the running container\'s cgroup', () => {
    const id = ok('run', '-d', '--name', 'upd', 'busybox', 'sleep', '600')
      .trim();
    // dockerd 20.10's rule: memory alone must fit the swap limit set.
    assert.match(eng.docker(['update', '-m', '64m', 'upd']).stderr,
      /Memory limit should be smaller than already set memoryswap limit/);
    assert.equal(ok('update', '-m', '64m', '--memory-swap', '128m',
      '--cpus', '0.5', '--pids-limit', '50', '--restart', 'on-failure:2',
      'upd'), 'upd\n');
    const memory = () => cgroupFile(id, ['memory',
      'memory.limit_in_bytes'], 'memory.max');
    assert.equal(memory(), String(64 << 20));
    assert.equal(cgroupFile(id, ['pids', 'pids.max'], 'pids.max'), '50');
    assert.match(cgroupFile(id, ['cpu', 'cpu.cfs_quota_us'], 'cpu.max'),
      /^50000( 100000)?$/);
    const host = JSON.parse(ok('inspect', 'upd'))[0].HostConfig;
    assert.deepEqual([host.Memory, host.MemorySwap, host.NanoCpus,
      host.PidsLimit, host.RestartPolicy], [64 << 20, 128 << 20, 5e8, 50,
      { Name: 'on-failure', MaximumRetryCount: 2 }]);
    // Raised above the old RAM+swap: the kernel's order of writes.
    ok('update', '-m', '256m', '--memory-swap', '512m', 'upd');
    assert.equal(memory(), String(256 << 20));
    ok('update', '-m', '32m', 'upd');
    assert.equal(memory(), String(32 << 20));
    // moby's conflicts: --cpus was set, so a CFS period may not be.
    const refused = eng.docker(['update', '--cpu-period', '50000', 'upd']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr,
      /CPU Period cannot be updated as NanoCPUs has already been set/);
    // The record keeps them: the next start applies them again.
    ok('restart', '-t', '0', 'upd');
    const again = JSON.parse(ok('inspect', 'upd'))[0].Id;
    assert.equal(cgroupFile(again, ['pids', 'pids.max'], 'pids.max'),
      '50');
    ok('rm', '-f', 'upd');
  });

  test('diff: added, changed, deleted, as docker lists them', () => {
    ok('run', '-d', '--name', 'dif', 'busybox', 'sleep', '600');
    assert.equal(ok('diff', 'dif'), '');
    ok('exec', 'dif', 'sh', '-c',
      'touch /tmp/new; rm /bin/ls; mkdir -p /data/x; echo >> /etc/group');
    assert.equal(ok('diff', 'dif'), ['C /bin', 'D /bin/ls', 'A /data',
      'A /data/x', 'C /etc', 'C /etc/group', 'C /tmp', 'A /tmp/new', '']
      .join('\n'));
    ok('rm', '-f', 'dif');
  });

  test('system df: layers, images, containers, volumes', async () => {
    ok('volume', 'create', 'dfvol');
    ok('run', '-d', '--name', 'dfc', '-v', 'dfvol:/v', 'busybox', 'sh',
      '-c', 'head -c 100000 /dev/zero > /v/z; head -c 5000 /dev/zero ' +
      '> /rw; exec sleep 600');
    await waitFor('the files', () => eng.docker(['exec', 'dfc', 'sh',
      '-c', 'test -s /rw && test $(wc -c < /v/z) = 100000']).status === 0);
    const r = await eng.api('GET', '/system/df');
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body);
    assert.ok(body.LayersSize > 1_000_000, String(body.LayersSize));
    const image = body.Images.find((i: { RepoTags: string[] }) =>
      i.RepoTags.includes('busybox:latest'));
    assert.ok(image.Containers >= 1 && image.Size > 0);
    const c = body.Containers.find((x: { Names: string[] }) =>
      x.Names[0] === '/dfc');
    assert.ok(c.SizeRw >= 5000 && c.SizeRootFs >= c.SizeRw + image.Size);
    const v = body.Volumes.find((x: { Name: string }) => x.Name === 'dfvol');
    assert.deepEqual(v.UsageData, { Size: 100000, RefCount: 1 });
    assert.deepEqual(body.BuildCache, []);
    assert.match(ok('system', 'df'), /^Local Volumes\s+1\s+1\s+100kB/m);
    assert.match(ok('system', 'df', '-v'), /^dfvol\s+1\s+100kB$/m);
    ok('rm', '-f', 'dfc');
    ok('volume', 'rm', 'dfvol');
  });

  test('cp into a container and import, tar bodies with no type', () => {
    const dir = join(eng.dir, 'files');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    ok('run', '-d', '--name', 'cpin', 'busybox', 'sleep', '600');
    ok('cp', join(dir, 'hello.txt'), 'cpin:/tmp/');
    assert.equal(ok('exec', 'cpin', 'cat', '/tmp/hello.txt'), 'hello\n');
    ok('rm', '-f', 'cpin');
    const tar = join(eng.dir, 'imp.tar');
    spawnSync('tar', ['-C', dir, '-cf', tar, 'hello.txt']);
    assert.match(ok('import', tar, 'imported:1'), /^sha256:[0-9a-f]{64}$/m);
    // From stdin: docker's CLI streams the tar with no Content-Type.
    const piped = spawnSync('sh', ['-c',
      `"${DOCKER}" import - imported:2 < "${tar}"`],
    { env: eng.env, encoding: 'utf8' });
    assert.equal(piped.status, 0, piped.stderr);
    const layers = JSON.parse(ok('image', 'inspect', 'imported:2'))[0]
      .RootFS.Layers;
    assert.equal(layers.length, 1);
  });

  test('system prune -f, then -a --volumes -f, end to end', () => {
    ok('create', '--name', 'stale', 'busybox', 'true');
    ok('run', '-d', '--name', 'keeper', 'busybox', 'sleep', '600');
    const r = eng.docker(['system', 'prune', '-f']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Deleted Containers:\n[0-9a-f]{64}\n/);
    assert.match(r.stdout, /Total reclaimed space: /);
    assert.equal(eng.docker(['inspect', 'stale']).status, 1);
    const all = eng.docker(['system', 'prune', '-a', '--volumes', '-f']);
    assert.equal(all.status, 0, all.stderr);
    assert.match(all.stdout, /untagged: imported:1/);
    const left = ok('images', '--format', '{{.Repository}}:{{.Tag}}');
    assert.equal(left, 'busybox:latest\n'); // the one keeper uses
    ok('rm', '-f', 'keeper');
  });

  test('build prune: the builder\'s cache file, emptied', async () => {
    const cache = join(eng.root, 'build-cache.json');
    writeFileSync(cache, JSON.stringify({ gone: `sha256:${'0'.repeat(64)}` }));
    const r = await eng.api('POST', '/build/prune?all=1');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body),
      { CachesDeleted: ['gone'], SpaceReclaimed: 0 });
    assert.equal(readFileSync(cache, 'utf8'), '{}');
  });

  test('skiff\'s own rename, update, diff, system df', () => {
    const id = eng.ok('run', '-d', '--name', 'sk1', 'busybox', 'sh', '-c',
      'touch /made; exec sleep 600').trim();
    eng.ok('rename', 'sk1', 'sk2');
    assert.equal(eng.ok('inspect', '--format', '{{.Name}}', id), '/sk2\n');
    eng.fails(1, /daemon: Renaming a container with the same name as its/,
      'rename', 'sk2', 'sk2');
    assert.equal(eng.ok('update', '--pids-limit', '42', 'sk2'), 'sk2\n');
    assert.equal(cgroupFile(id, ['pids', 'pids.max'], 'pids.max'), '42');
    assert.match(eng.ok('diff', 'sk2'), /^A \/made$/m);
    assert.match(eng.ok('system', 'df'), new RegExp('^TYPE\\s+TOTAL\\s+' +
      'ACTIVE\\s+SIZE\\s+RECLAIMABLE\\nImages\\s+\\d+\\s+1\\s', 'm'));
    assert.match(eng.ok('system', 'df', '-v'),
      new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s.*\\ssk2$`, 'm'));
    eng.ok('rm', '-f', 'sk2');
  });

  test('docker-py: put_archive, exec_run(stream=True) 50 times',
    { skip: PY_DOCKER ? false : 'no python3 docker module' }, () => {
      ok('run', '-d', '--name', 'py', 'busybox', 'sleep', '600');
      const r = spawnSync('python3', ['-c', [
        'import docker, io, tarfile',
        `c = docker.DockerClient(base_url="unix://${eng.sock}")`,
        'box = c.containers.get("py")',
        'buf = io.BytesIO()',
        'with tarfile.open(fileobj=buf, mode="w") as tf:',
        '    ti = tarfile.TarInfo("put.txt"); ti.size = 4',
        '    tf.addfile(ti, io.BytesIO(b"put\\n"))',
        'print(box.put_archive("/tmp", buf.getvalue()))',
        'print(box.exec_run("cat /tmp/put.txt").output)',
        'lost = 0',
        'for i in range(50):',
        '    out = b"".join(box.exec_run("echo hi", stream=True).output)',
        '    lost += out != b"hi\\n"',
        'print("lost", lost)',
      ].join('\n')], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "True\nb'put\\n'\nlost 0\n");
      ok('rm', '-f', 'py');
    });

  test('clients that hang up mid-stream free what they held', async () => {
    ok('run', '-d', '--name', 'quiet', 'busybox', 'sleep', '600');
    const pid = eng.daemonPid();
    const sockets = () => readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    }).length;
    const open: Duplex[] = [];
    for (let i = 0; i < 5; i++) {
      for (const path of ['/containers/quiet/logs?follow=1&stdout=1',
        '/containers/quiet/stats']) open.push(await streaming('GET', path));
      open.push(await streaming('POST', '/containers/quiet/wait'));
      open.push(await upgraded('/containers/quiet/attach?stream=1&' +
        'stdout=1&stdin=1'));
      const exec = await execCreate('quiet', ['sleep', '600']);
      open.push(await upgraded(`/exec/${exec}/start`));
    }
    // Each open stream holds one socket of the daemon's; each must go.
    const during = sockets();
    for (const socket of open) socket.destroy();
    await waitFor('the daemon to close their sockets',
      () => sockets() <= during - open.length);
    assert.equal(ok('inspect', '-f', '{{.State.Running}}', 'quiet'),
      'true\n');
    ok('rm', '-f', 'quiet');
  });
});

/** A request whose answer streams: resolves with its socket. */
function streaming(method: string, path: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: eng.sock, method, path,
      agent: false }, (res) => resolve(res.socket));
    req.on('error', reject);
    req.end();
  });
}

/** A request that takes the connection over (attach, exec start). */
function upgraded(path: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: eng.sock, method: 'POST', path,
      agent: false, headers: { Connection: 'Upgrade', Upgrade: 'tcp',
        'Content-Type': 'application/json' } });
    req.on('upgrade', (_res, socket) => resolve(socket));
    req.on('error', reject);
    req.end('{}');
  });
}

async function execCreate(container: string, cmd: string[])
  : Promise<string> {
  const r = await eng.api('POST', `/containers/${container}/exec`,
    { Cmd: cmd, AttachStdout: true });
  return JSON.parse(r.body).Id;
}
