// The engine's containers end to end, through the CLI as a user types
// it: run and its flags, ps, logs, exec, stop, kill, start, restart, rm,
// wait, inspect, top, stats, pause; -t and exec -t sessions through a
// pseudo-terminal; 50 concurrent containers; run/rm cycles that leave
// nothing behind; a daemon killed with SIGKILL and started again. One
// engine (its own root, socket, bridge, subnet, chains and cgroup
// parent) serves the file; everything it made is checked gone at the end.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, mkdtempSync, readdirSync, readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tty from 'node:tty';
import { openPty, setWinsize } from
  '../chapters/02-namespaces/console.ts';
import type { NetConfig } from '../chapters/05-network/networks.ts';
import { hostState } from '../chapters/05-network/testnet.ts';
import { hostMounts, needsRoot, REPO } from '../support/testing.ts';
import { Client } from './client.ts';
import { cgroupsBelow, TestEngine, waitFor } from './testing.ts';

const VM = !!process.env.SKIFF_VM; // ten times slower: fewer containers
const TSX = import.meta.resolve('tsx/esm');
let eng: TestEngine;
let dir = '';
let cfg: NetConfig;
const root = () => eng.root;
const sock = () => eng.sock;
const cgroupParent = () => eng.cgroupParent;

function cli(args: string[]): string[] {
  return ['--import', TSX, join(REPO, 'final/cli.ts'), ...args];
}

/** `skiff ARGS...` with this file's engine. */
const sk = (args: string[], input?: string,
  extra: Record<string, string> = {}) => eng.sk(args, input, extra);
const ok = (...args: string[]) => eng.ok(...args);
const fails = (code: number, pattern: RegExp, ...args: string[]) =>
  eng.fails(code, pattern, ...args);
const skAsync = (args: string[]) => eng.skAsync(args);

const inspect = (ref: string) => JSON.parse(ok('inspect', ref))[0];

/** A client of the API (a connection per request: see client.ts). */
async function api(): Promise<Client> {
  return new Client(sock(), root());
}
const daemonPid = () => eng.daemonPid();

const cgroups = () => cgroupsBelow(cgroupParent());

/** What the engine may leave on the host: must match before and after. */
function footprint(): string {
  const leases = readdirSync(cfg.stateDir).filter((f) => f.endsWith('.json'))
    .flatMap((f) => Object.keys(JSON.parse(readFileSync(
      join(cfg.stateDir, f), 'utf8')).leases ?? {}));
  const state = ['containers', 'overlay'].flatMap((d) =>
    existsSync(join(root(), d)) ? readdirSync(join(root(), d)) : []);
  return JSON.stringify({ net: JSON.parse(hostState(cfg)), leases, state,
    cgroups: cgroups(), mounts: hostMounts().filter((m) =>
      m.startsWith(dir)) }, null, 1);
}

before(() => {
  if (process.getuid?.() !== 0) return;
  eng = new TestEngine('skctr');
  dir = eng.dir;
  cfg = eng.cfg;
  // The first call starts the daemon, which seeds busybox into a fresh
  // root: minutes in the emulated VM.
  if (VM) sk(['ps'], undefined, { SKIFF_START_TIMEOUT: '550' });
  // The first container sets the bridge and its chains up, once: the
  // tests' before/after footprints then hold whichever run first.
  sk(['run', '--rm', 'busybox', 'true']);
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('skiff containers', needsRoot, () => {
  // #region test-run
  test('run: output, exit codes, stdout and stderr apart', () => {
    const r = sk(['run', '--rm', 'busybox', 'sh', '-c',
      'echo out; echo err >&2; exit 3']);
    assert.deepEqual([r.status, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
    // (PID 1 of a pid namespace ignores even SIGKILL from inside: the
    // shell kills a child instead, and reports its status.)
    const killed = sk(['run', '--rm', 'busybox', 'sh', '-c',
      'sh -c "kill -9 \\$\\$"; exit $?']);
    assert.equal(killed.status, 137);
    assert.equal(sk(['run', '--rm', '-i', 'busybox', 'sh', '-c',
      'cat; echo done'], 'typed\n').stdout, 'typed\ndone\n');
  });
  // #endregion

  test('errors: one line, docker\'s exit codes, nothing left', () => {
    const before = footprint();
    const missing = sk(['run', 'busybx']);
    assert.equal(missing.status, 125);
    // docker's two lines: the pull it tries, and why that failed
    assert.match(missing.stderr, new RegExp('^Unable to find image ' +
      '\'busybx:latest\' locally\nskiff: pull busybx:latest: connect ' +
      'to [^\n]*\n$'));
    fails(127, /exec "nosuch": not found/, 'run', '--rm', 'busybox',
      'nosuch');
    fails(126, /permission denied/, 'run', '--rm', 'busybox',
      '/etc/passwd');
    fails(125, /unknown flag: --bogus/, 'run', '--bogus', 'busybox');
    fails(125, /invalid restart policy/, 'run', '--restart', 'sometimes',
      'busybox');
    fails(125, /No such container: ghost/, 'logs', 'ghost');
    ok('run', '--name', 'taken', 'busybox', 'true');
    fails(125, /name "\/taken" is already in use/, 'run', '--name',
      'taken', 'busybox', 'true');
    ok('rm', 'taken');
    assert.equal(footprint(), before);
  });

  test('run flags: env, hostname, workdir, user, entrypoint, init', () => {
    const envFile = join(dir, 'env.list');
    writeFileSync(envFile, '# comment\nFROM_FILE=yes\nB=file\n');
    assert.equal(ok('run', '--rm', '-e', 'A=1', '--env-file', envFile,
      '-e', 'B=flag', 'busybox', 'sh', '-c', 'echo $A $FROM_FILE $B'),
    '1 yes flag\n');
    assert.equal(ok('run', '--rm', '-h', 'boat', '-w', '/tmp/work', '-u',
      'nobody', 'busybox', 'sh', '-c', 'hostname; pwd; id -u; id -g'),
    'boat\n/tmp/work\n65534\n65534\n');
    assert.equal(ok('run', '--rm', '-u', '1234:55', 'busybox', 'id'),
      'uid=1234 gid=55 groups=55\n');
    assert.equal(ok('run', '--rm', '--entrypoint', 'echo', 'busybox', 'a',
      'b'), 'a b\n');
    // --init: PID 1 is the init, the command its child.
    const [init, pid] = ok('run', '--rm', '--init', 'busybox', 'sh', '-c',
      'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $$').split('\n');
    assert.match(init, /^\/dev\/init -- sh -c /);
    assert.notEqual(pid, '1');
    assert.equal(ok('run', '--rm', 'busybox', 'sh', '-c', 'echo $$'), '1\n');
  });

  test('-u: the image\'s /etc/passwd is read inside it, a FIFO refused',
    () => {
      // A host file the image's absolute symlink names: host root must
      // not read it (it would make "trapper" uid 4242).
      const host = join(dir, 'host-passwd');
      writeFileSync(host, 'trapper:x:4242:4242::/:/bin/sh\n');
      ok('run', '--name', 'trapmaker', 'busybox', 'sh', '-c',
        `rm /etc/passwd /etc/group; ln -s ${host} /etc/passwd; ` +
        'mkfifo /etc/group');
      ok('commit', 'trapmaker', 'trap:etc');
      ok('rm', 'trapmaker');
      fails(125, /unable to find user trapper/, 'run', '--rm', '-u',
        'trapper', 'trap:etc', 'true');
      // A FIFO, opened as host root for reading, would block the daemon
      // for good: refused at once, and the daemon answers after.
      fails(125, /read \/etc\/group in the image: not a regular file/,
        'run', '--rm', '-u', '0:staff', 'trap:etc', 'true');
      assert.equal(ok('run', '--rm', 'trap:etc', 'id', '-u'), '0\n');
      ok('rmi', 'trap:etc');
    });

  test('/sys/fs/cgroup: read-only, the container\'s cgroup as its root',
    () => {
      const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
      const top = v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids';
      const r = sk(['run', '--rm', 'busybox', 'sh', '-c',
        `mkdir ${top}/x; grep -c . ${top}/cgroup.procs; ` +
        'grep -v "^0::" /proc/self/cgroup | grep -cv ":/$"']);
      assert.match(r.stderr, /can't create directory .*: Read-only/);
      // Only the container's processes (sh, grep): not the host's.
      const [procs, notRoot] = r.stdout.trim().split('\n').map(Number);
      assert.ok(procs <= 3, r.stdout);
      assert.equal(notRoot, 0, r.stdout); // every hierarchy reads "/"
    });

  test('volumes: bind, read-only bind, named volume, --read-only', () => {
    const host = mkdtempSync(join(dir, 'bind-'));
    writeFileSync(join(host, 'in'), 'from host\n');
    assert.equal(ok('run', '--rm', '-v', `${host}:/data`, 'busybox', 'sh',
      '-c', 'cat /data/in; echo back > /data/out'), 'from host\n');
    assert.equal(readFileSync(join(host, 'out'), 'utf8'), 'back\n');
    const ro = sk(['run', '--rm', '-v', `${host}:/data:ro`, 'busybox',
      'touch', '/data/x']);
    assert.equal(ro.status, 1);
    assert.match(ro.stderr, /Read-only file system/);
    ok('run', '--rm', '-v', 'skctr-vol:/v', 'busybox', 'sh', '-c',
      'echo kept > /v/f');
    assert.equal(ok('run', '--rm', '-v', 'skctr-vol:/v', 'busybox', 'cat',
      '/v/f'), 'kept\n');
    ok('volume', 'rm', 'skctr-vol');
    const rofs = sk(['run', '--rm', '--read-only', 'busybox', 'touch',
      '/x']);
    assert.equal(rofs.status, 1);
    assert.match(rofs.stderr, /Read-only file system/);
  });

  test('resources land in the container\'s cgroup', () => {
    const id = ok('run', '-d', '--memory', '64m', '--cpus', '0.5',
      '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '40',
      'busybox', 'sleep', '600').trim();
    const { Pid } = inspect(id).State;
    const cg = readFileSync(`/proc/${Pid}/cgroup`, 'utf8');
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers')
      ? /^0::(\/.*)$/m.exec(cg)?.[1] : undefined;
    const read = (ctrl: string, file: string) => {
      const path = v2 ?? new RegExp(`^\\d+:[^:]*\\b${ctrl}\\b[^:]*:(.*)$`,
        'm').exec(cg)![1];
      const base = v2 ? '/sys/fs/cgroup' : `/sys/fs/cgroup/${ctrl}`;
      assert.ok(path.startsWith(`${cgroupParent()}/${id}`), path);
      return readFileSync(join(base, path, file), 'utf8').trim();
    };
    if (v2) {
      assert.equal(read('memory', 'memory.max'), String(64 << 20));
      assert.equal(read('cpu', 'cpu.max'), '50000 100000');
      assert.equal(read('pids', 'pids.max'), '40');
      assert.equal(read('cpuset', 'cpuset.cpus'), '0');
    } else {
      assert.equal(read('memory', 'memory.limit_in_bytes'),
        String(64 << 20));
      assert.equal(read('cpu', 'cpu.cfs_quota_us'), '50000');
      assert.equal(read('cpu', 'cpu.shares'), '512');
      assert.equal(read('pids', 'pids.max'), '40');
      assert.equal(read('cpuset', 'cpuset.cpus'), '0');
    }
    const stats = ok('stats', '--no-stream', id).split('\n');
    assert.match(stats[0], /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    assert.match(stats[1], new RegExp(`^${id.slice(0, 12)}\\s+\\S+\\s+` +
      '\\d+\\.\\d\\d%\\s+[\\d.]+[KM]iB / 64MiB\\s+[\\d.]+%\\s+.*\\s1$'));
    ok('rm', '-f', id);
  });

  test('-p publishes a port; --network none has only lo', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    ok('run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`,
      'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc');
    const ip = inspect('web').NetworkSettings.IPAddress;
    assert.match(ip, /^10\.\d+\.\d+\.\d+$/);
    await waitFor('the web server', () => spawnSync('wget', ['-qO-',
      `http://127.0.0.1:${port}/hostname`]).status === 0);
    const got = spawnSync('wget', ['-qO-',
      `http://127.0.0.1:${port}/hostname`], { encoding: 'utf8' }).stdout;
    assert.equal(got, `${inspect('web').Id.slice(0, 12)}\n`);
    assert.match(ok('ps'), new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp\\s+web`));
    ok('rm', '-f', 'web');
    assert.equal(ok('run', '--rm', '--network', 'none', 'busybox', 'sh',
      '-c', 'ls /sys/class/net'), 'lo\n');
  });

  test('-p: an address the host lacks, host and none, container:', () => {
    const before = footprint();
    // Only checked, never sent to: no interface here has the address.
    fails(125, /^skiff: cannot publish 10\.99\.99\.99:8080: address not /,
      'run', '--rm', '-p', '10.99.99.99:8080:80', 'busybox', 'true');
    fails(125, /^skiff: conflicting options: port publishing and the /,
      'run', '--rm', '--network', 'container:web', '-p', '80', 'busybox',
      'true');
    for (const mode of ['host', 'none']) {
      const r = sk(['run', '--rm', '--network', mode, '-p', '8080:80',
        'busybox', 'true']);
      assert.deepEqual([r.status, r.stderr], [0, 'WARNING: Published ' +
        `ports are discarded when using ${mode} network mode\n`]);
    }
    assert.equal(footprint(), before);
  });

  test('-p with host or none: the daemon discards the ports', async () => {
    const before = footprint();
    // The API calls come first, back to back (see api()).
    const client = await api();
    const bindings = { '80/tcp': [{ HostIp: '', HostPort: '8080' }] };
    const ids: Record<string, string[]> = {};
    for (const mode of ['host', 'none']) {
      const { Id, Warnings } = await client.call('POST',
        '/containers/create', { Image: 'busybox', Cmd: ['true'],
          HostConfig: { NetworkMode: mode, PortBindings: bindings } });
      assert.deepEqual(Warnings, ['Published ports are discarded when ' +
        `using ${mode} network mode`]);
      ids[mode] = [Id];
    }
    const ports = (id: string) => JSON.parse(ok('ps', '-a', '--no-trunc',
      '--format', 'json').split('\n').filter(Boolean)
      .find((l) => l.includes(id))!).Ports;
    for (const mode of ['host', 'none']) {
      ids[mode].push(sk(['run', '-d', '--network', mode, '-p', '8080:80',
        'busybox', 'sleep', '600']).stdout.trim());
      for (const id of ids[mode]) {
        assert.equal(ports(id), '', `ps PORTS of a ${mode} container`);
        assert.deepEqual(inspect(id).NetworkSettings.Ports, {});
        assert.deepEqual(inspect(id).HostConfig.PortBindings, bindings);
      }
      ok('rm', '-f', ...ids[mode]);
    }
    assert.equal(footprint(), before);
  });

  test('-p with container: refused at create, nothing left', async () => {
    const client = await api();
    const all = () => client.call('GET', '/containers/json?all=1');
    const count = (await all()).length;
    const r = await client.request('POST', '/containers/create', {
      Image: 'busybox', HostConfig: { NetworkMode: 'container:other',
        PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } } });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).message, 'conflicting options: port ' +
      'publishing and the container type network mode');
    assert.equal((await all()).length, count);
  });

  // The lifecycle tests share one container, "life", in this order.
  // #region test-lifecycle
  test('run -d prints the full id; ps lists it as up', () => {
    // --init: a shell as PID 1 would ignore SIGUSR1 (pid_namespaces(7)).
    const id = ok('run', '-d', '--init', '--name', 'life', 'busybox', 'sh',
      '-c',
      'trap "echo got TERM; exit 0" TERM; echo hello; echo oops >&2; ' +
      'while true; do sleep 0.1; done').trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = ok('ps').split('\n');
    assert.match(ps[0], new RegExp('^CONTAINER ID\\s+IMAGE\\s+COMMAND\\s+' +
      'CREATED\\s+STATUS\\s+PORTS\\s+NAMES$'));
    assert.match(ok('ps'), new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+` +
      '"sh -c trap \\\\"echo go…"\\s+.* ago\\s+' +
      'Up (Less than a second|\\d+ seconds?)\\s+life$', 'm'));
    assert.equal(ok('ps', '-q'), `${id.slice(0, 12)}\n`);
    const json = JSON.parse(ok('ps', '--format', 'json').split('\n')[0]);
    assert.deepEqual([json.Names, json.State], ['life', 'running']);
  });
  // #endregion

  test('logs keep stdout and stderr apart; -t and --tail', async () => {
    await waitFor('logs', () => sk(['logs', 'life']).stdout === 'hello\n');
    const logs = sk(['logs', 'life']);
    assert.deepEqual([logs.stdout, logs.stderr], ['hello\n', 'oops\n']);
    const last = sk(['logs', '-t', '--tail', '1', 'life']);
    assert.match(last.stdout + last.stderr,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (hello|oops)\n$/);
  });

  test('top lists its processes; pause freezes them, unpause thaws', () => {
    assert.match(ok('top', 'life'), /^UID\s+PID\s+PPID.*\n.*sh -c trap/);
    ok('pause', 'life');
    assert.match(ok('ps'), /Up .* \(Paused\)\s+life/);
    assert.equal(inspect('life').State.Status, 'paused');
    ok('unpause', 'life');
    assert.equal(inspect('life').State.Status, 'running');
  });

  test('stop sends SIGTERM: the trap answers, exit code 0', () => {
    ok('stop', 'life');
    assert.match(ok('logs', 'life'), /got TERM/);
    assert.match(ok('ps', '-a'),
      /Exited \(0\) (Less than a second|\d+ seconds?) ago\s+life/);
    assert.equal(ok('ps', '-q'), '');
  });

  test('start and restart run a stopped container again', () => {
    ok('start', 'life');
    assert.equal(inspect('life').State.Running, true);
    // docker's -f for --format, a Go template's fields
    assert.equal(ok('inspect', '-f', '{{.State.Status}} {{.Name}}', 'life'),
      'running /life\n');
    const pid = inspect('life').State.Pid;
    ok('restart', '-t', '1', 'life');
    assert.equal(inspect('life').State.Running, true);
    assert.notEqual(inspect('life').State.Pid, pid);
  });

  test('wait prints the exit code of a signal\'s death: 128+N', async () => {
    const waiter = skAsync(['wait', 'life']);
    ok('kill', '-s', 'USR1', 'life'); // sh dies of SIGUSR1: 128+10
    assert.equal((await waiter).stdout, '138\n');
    assert.equal(inspect('life').State.ExitCode, 138);
  });

  test('stop -t on a process that ignores SIGTERM: SIGKILL, 137', () => {
    ok('run', '-d', '--name', 'stubborn', 'busybox', 'sh', '-c',
      'trap "" TERM; while true; do sleep 0.1; done');
    ok('stop', '-t', '1', 'stubborn');
    assert.equal(inspect('stubborn').State.ExitCode, 137);
  });

  test('rm refuses a running container; rm -f removes it', () => {
    ok('start', 'stubborn');
    fails(1, /You cannot remove a running container/, 'rm', 'stubborn');
    ok('rm', '-f', 'stubborn', 'life');
    assert.equal(ok('ps', '-aq'), '');
  });

  test('logs -f follows; logs outlive the CLI that ran it', async () => {
    ok('run', '-d', '--name', 'talker', 'busybox', 'sh', '-c',
      'for i in 1 2 3; do echo line $i; sleep 0.3; done');
    const follow = await skAsync(['logs', '-f', 'talker']);
    assert.equal(follow.stdout, 'line 1\nline 2\nline 3\n');
    assert.equal(ok('logs', '--tail', '2', 'talker'), 'line 2\nline 3\n');
    assert.equal(ok('wait', 'talker'), '0\n');
    ok('rm', 'talker');
  });

  test('restart policies: on-failure retries, always restarts', async () => {
    ok('run', '-d', '--name', 'flaky', '--restart', 'on-failure:2',
      'busybox', 'sh', '-c', 'echo try; exit 1');
    await waitFor('two retries', () =>
      inspect('flaky').RestartCount === 2 && !inspect('flaky').State.Running
      && !inspect('flaky').State.Restarting);
    assert.equal(ok('logs', 'flaky'), 'try\ntry\ntry\n');
    ok('run', '-d', '--name', 'phoenix', '--restart', 'always', 'busybox',
      'sh', '-c', 'sleep 0.2; exit 0');
    await waitFor('a restart', () => inspect('phoenix').RestartCount >= 1);
    ok('stop', 'phoenix');
    const n = inspect('phoenix').RestartCount;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(inspect('phoenix').RestartCount, n, 'stop ends restarts');
    ok('rm', '-f', 'flaky', 'phoenix');
  });

  test('exec: env, workdir, user, exit codes, the container\'s cgroup',
    () => {
      ok('run', '-d', '--name', 'host', '-e', 'FROM_RUN=1', 'busybox',
        'sleep', '600');
      assert.equal(ok('exec', '-e', 'X=2', '-w', '/etc', '-u', 'nobody',
        'host', 'sh', '-c', 'echo $FROM_RUN $X $PWD $(id -u)'),
      '1 2 /etc 65534\n');
      assert.equal(sk(['exec', 'host', 'sh', '-c', 'exit 9']).status, 9);
      fails(127, /exec "nope": not found/, 'exec', 'host', 'nope');
      assert.equal(ok('exec', '-i', 'host', 'cat'), '');
      // Same namespaces and cgroup as the container's PID 1.
      const pid1 = inspect('host').State.Pid;
      const inside = ok('exec', 'host', 'sh', '-c',
        'for n in pid net mnt; do readlink /proc/self/ns/$n; done; ' +
        'sort /proc/self/cgroup').trim();
      const ns = ['pid', 'net', 'mnt'].map((n) => spawnSync('readlink',
        [`/proc/${pid1}/ns/${n}`], { encoding: 'utf8' }).stdout.trim());
      assert.deepEqual(inside.split('\n').slice(0, 3), ns);
      const cg = readFileSync(`/proc/${pid1}/cgroup`, 'utf8');
      assert.ok(cg.includes(`${cgroupParent()}/${inspect('host').Id}`));
      assert.equal(inside.split('\n').slice(3).join('\n'), ok('exec',
        'host', 'sh', '-c', 'sort /proc/1/cgroup').trim());
      fails(125, /No such container: nobody-here/, 'exec', 'nobody-here',
        'true');
    });

  // #region test-tty
  test('-t: a terminal session through a pseudo-terminal', async () => {
    const s = await terminalSession(['run', '-it', '--rm', 'busybox',
      'sh']);
    await s.expect(/\/ # /);
    // Made inside: the container's own devpts, at our size from the start.
    s.type('echo hi; tty; readlink /proc/self/fd/0; stty size\r');
    await s.expect(/\nhi\r\n\/dev\/pts\/0\r\n\/dev\/pts\/0\r\n24 80\r\n/);
    s.resize(40, 120);
    await s.until(/\n40 120\r\n/, 'stty size\r');
    s.type('sleep 30\r');
    await new Promise((r) => setTimeout(r, 300));
    s.type('\x03'); // ^C: SIGINT from the container's terminal
    await s.expect(/\^C/);
    s.type('exit 5\r');
    assert.equal(await s.exit, 5);
    // Our terminal was raw (cfmakeraw): no line ending translated twice.
    assert.doesNotMatch(s.transcript(), /\r\r\n/);
  });
  // #endregion

  test('exec -it: a shell in a running container', async () => {
    ok('run', '-d', '--name', 'box', 'busybox', 'sleep', '600');
    const s = await terminalSession(['exec', '-it', 'box', 'sh']);
    await s.expect(/\/ # /);
    s.type('echo $TERM; ps -o pid,comm | grep -c sleep; tty\r');
    await s.expect(/xterm\r\n1\r\n\/dev\/pts\/0\r\n/);
    s.resize(33, 99);
    await s.until(/33 99/, 'stty size\r');
    s.type('exit 7\r');
    assert.equal(await s.exit, 7);
    assert.doesNotMatch(s.transcript(), /\r\r\n/);
    ok('rm', '-f', 'box');
  });

  test('exec -it: a detach or a vanished client leave the process',
    async () => {
    ok('run', '-d', '--name', 'exdet', 'busybox', 'sleep', '600');
    // Each loop writes on: the daemon's writes to a client gone fail.
    const loop = (n: number) => `while :; do echo tick; sleep 0.${n}; done`;
    const runs = (n: number) => ok('exec', 'exdet', 'ps', '-o', 'args')
      .split('\n').includes(`sh -c ${loop(n)}`);
    let s = await terminalSession(['exec', '-it', 'exdet', 'sh', '-c',
      loop(1)]);
    await s.expect(/tick/);
    s.type('\x10\x11');
    await s.expect(/read escape sequence/);
    assert.equal(await s.exit, 0);
    // As Docker's: the client gone, nobody signals the process (moby
    // runs an exec under a context no client's end cancels).
    s = await terminalSession(['exec', '-it', 'exdet', 'sh', '-c', loop(2)]);
    await s.expect(/tick/);
    s.kill('SIGKILL');
    await s.exit;
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(runs(1), 'a detach ended the exec');
    assert.ok(runs(2), 'a vanished client ended the exec');
    ok('rm', '-f', 'exdet');
  });

  test('attach: type, detach with ctrl-p ctrl-q, attach, exit', async () => {
    ok('run', '-dit', '--name', 'att', 'busybox', 'sh');
    let s = await terminalSession(['attach', 'att']);
    s.type('echo $((6*7)); tty\r');
    await s.expect(/\n42\r\n\/dev\/pts\/0\r\n/);
    s.type('\x10\x11');
    await s.expect(/read escape sequence/);
    assert.equal(await s.exit, 0);
    assert.equal(inspect('att').State.Running, true);
    s = await terminalSession(['attach', 'att']);
    s.type('exit 3\r');
    assert.equal(await s.exit, 3);
    assert.equal(inspect('att').State.ExitCode, 3);
    ok('rm', 'att');
  });

  test('create -it, then start -a -i', async () => {
    // docker's CheckTty: keys for -it from a pipe are refused, before
    // anything is made.
    const before = ok('ps', '-aq');
    fails(1, /^skiff: the input device is not a TTY$/m, 'run', '-it',
      'busybox', 'true');
    assert.equal(ok('ps', '-aq'), before);
    ok('create', '-it', '--name', 'later', 'busybox', 'sh');
    fails(1, /not a TTY/, 'start', '-a', '-i', 'later');
    const s = await terminalSession(['start', '-a', '-i', 'later']);
    await s.expect(/\/ # /);
    s.type('tty\r');
    await s.expect(/\/dev\/pts\/0\r\n/);
    await s.until(/\n24 80\r\n/, 'stty size\r'); // start -a resizes
    s.type('exit 6\r');
    assert.equal(await s.exit, 6);
    ok('rm', 'later');
  });

  test('-it --restart unless-stopped: a new shell, till the user stops it',
    async () => {
      ok('run', '-dit', '--restart', 'unless-stopped', '--name', 'again',
        'busybox', 'sh');
      let s = await terminalSession(['attach', 'again']);
      s.type('exit 2\r');
      assert.equal(await s.exit, 2);
      await waitFor('a restart', () => inspect('again').RestartCount === 1 &&
        inspect('again').State.Running, VM ? 300_000 : 30_000);
      s = await terminalSession(['attach', 'again']);
      s.type('tty\r');
      await s.expect(/\/dev\/pts\/0\r\n/);
      s.type('\x10\x11');
      assert.equal(await s.exit, 0);
      // Stopped by the user: it stays stopped (and so with the next
      // daemon: see the daemon kill -9 test).
      ok('stop', '-t', '1', 'again');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(inspect('again').State.Status, 'exited');
      ok('rm', 'again');
    });

  test(`${VM ? 10 : 50} concurrent run -d: distinct names and addresses`,
    async () => {
      const n = VM ? 10 : 50;
      const runs = await Promise.all(Array.from({ length: n }, () =>
        skAsync(['run', '-d', 'busybox', 'sleep', '600'])));
      for (const r of runs) assert.equal(r.status, 0, r.stderr);
      const ids = runs.map((r) => r.stdout.trim());
      const all = JSON.parse(ok('inspect', ...ids)) as {
        Name: string; State: { Running: boolean };
        NetworkSettings: { IPAddress: string } }[];
      assert.equal(all.filter((c) => c.State.Running).length, n);
      assert.equal(new Set(all.map((c) => c.Name)).size, n);
      const ips = new Set(all.map((c) => c.NetworkSettings.IPAddress));
      assert.equal(ips.size, n);
      assert.ok(!ips.has(''));
      ok('rm', '-f', ...ids);
    });

  test(`${VM ? 20 : 200} run/rm cycles through the API leave nothing`,
    async () => {
      const before = footprint();
      const client = new Client(sock(), root());
      const cycle = async (i: number) => {
        const { Id } = await client.call('POST', '/containers/create', {
          Image: 'busybox', Cmd: ['sh', '-c', `echo ${i}`],
          HostConfig: { PortBindings: i % 10 === 0
            ? { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } : {} },
        });
        const wait = client.call('POST', `/containers/${Id}/wait?` +
          'condition=next-exit');
        await client.call('POST', `/containers/${Id}/start`);
        assert.equal((await wait).StatusCode, 0);
        await client.call('DELETE', `/containers/${Id}`);
      };
      const total = VM ? 20 : 200;
      const lanes = 4;
      await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < total; i += lanes) await cycle(i);
      }));
      assert.equal(footprint(), before);
    });

  // #region test-daemon-kill (unused)
  test('daemon kill -9: containers run on, are found again', async () => {
    const before = footprint();
    ok('run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c',
      'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done');
    ok('run', '-d', '--name', 'shortlived', 'busybox', 'sleep', '1');
    // Ends with 7 once told to (by an exec), under the next daemon.
    ok('run', '-d', '--name', 'seven', 'busybox', 'sh', '-c',
      'until [ -e /go ]; do sleep 0.1; done; exit 7');
    // Stopped by the user: `always` starts with the next daemon,
    // `unless-stopped` does not (docker's restart manager).
    for (const policy of ['always', 'unless-stopped']) {
      ok('run', '-d', '--restart', policy, '--name', policy, 'busybox',
        'sleep', '600');
    }
    ok('stop', '-t', '1', 'always', 'unless-stopped');
    // #region test-found-again
    const pid = inspect('survivor').State.Pid;
    const old = daemonPid();
    process.kill(old, 'SIGKILL');
    await waitFor('the daemon to die', () => !existsSync(`/proc/${old}`));
    await new Promise((r) => setTimeout(r, 1500)); // shortlived ends
    assert.ok(existsSync(`/proc/${pid}`), 'the container died with it');
    // The next command starts a daemon, which finds them again.
    assert.match(ok('ps'), /Up [\w ]+survivor/); // minutes in a VM
    assert.notEqual(daemonPid(), old);
    assert.equal(inspect('shortlived').State.Status, 'exited');
    await waitFor('always started', () => inspect('always').State.Running,
      VM ? 300_000 : 20_000);
    assert.equal(inspect('unless-stopped').State.Status, 'exited');
    const n = (s: string) => s.split('\n').filter(Boolean).length;
    const seen = n(ok('logs', 'survivor'));
    await waitFor('new output logged', () =>
      n(ok('logs', 'survivor')) > seen + 2);
    assert.equal(ok('exec', 'survivor', 'echo', 'still here'),
      'still here\n');
    // The new daemon is not its parent, yet it learns its exit code.
    ok('exec', 'seven', 'touch', '/go');
    assert.equal(ok('wait', 'seven'), '7\n');
    assert.match(ok('ps', '-a'), /Exited \(7\) .*seven/);
    // #endregion
    ok('stop', '-t', '1', 'survivor');
    assert.equal(inspect('survivor').State.Running, false);
    ok('rm', '-f', 'survivor', 'shortlived', 'seven', 'always',
      'unless-stopped');
    assert.equal(footprint(), before);
  });
  // #endregion

  test('--help for each command', () => {
    for (const cmd of ['run', 'ps', 'logs', 'exec', 'stop', 'kill',
      'start', 'restart', 'rm', 'wait', 'inspect', 'top', 'stats',
      'pause', 'unpause', 'create', 'attach']) {
      const out = ok(cmd, '--help');
      assert.match(out, new RegExp(`^Usage:  skiff ${cmd} `), cmd);
      assert.match(out, /--help\s+Print usage/, cmd);
    }
    assert.match(ok('run', '--help'), /--pids-limit/);
  });
});

interface Session {
  type(text: string): void;
  resize(rows: number, cols: number): void;
  expect(pattern: RegExp, ms?: number): Promise<void>;
  /** Types `text` every second until `pattern` shows: the resize is
   * asynchronous (CLI -> daemon -> TIOCSWINSZ), the shell may be faster. */
  until(pattern: RegExp, text: string): Promise<void>;
  /** Everything the CLI printed so far. */
  transcript(): string;
  /** Signals the CLI: a terminal closed, a client killed. */
  kill(signal: NodeJS.Signals): void;
  exit: Promise<number | null>;
}

/**
 * The CLI on a pseudo-terminal of the test's own, as in a user's
 * terminal emulator: we type on the master, read what it prints.
 */
async function terminalSession(args: string[]): Promise<Session> {
  const pty = openPty();
  setWinsize(pty.master, 24, 80);
  const child = spawn(process.execPath, cli(args), { cwd: dir, env: eng.env,
    stdio: [pty.slave, pty.slave, pty.slave], detached: true });
  closeSync(pty.slave);
  const master = new tty.ReadStream(pty.master);
  let seen = '';
  let all = '';
  master.on('data', (d: Buffer) => {
    seen += d.toString();
    all += d.toString();
  });
  master.on('error', () => {}); // EIO once the CLI has gone
  const exit = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      setTimeout(() => master.destroy(), 100);
      resolve(code);
    });
  });
  const session: Session = {
    type: (text) => void master.write(text),
    resize(rows, cols) {
      setWinsize(pty.master, rows, cols);
      // The kernel signals a terminal's foreground group; the CLI's
      // terminal is not its controlling one here, so we signal it.
      process.kill(child.pid!, 'SIGWINCH');
    },
    async expect(pattern, ms = VM ? 120_000 : 15_000) {
      const start = seen.length;
      void start;
      await waitFor(`${pattern} in ${JSON.stringify(seen.slice(-200))}`,
        () => pattern.test(seen), ms);
      seen = '';
    },
    async until(pattern, text) {
      const timer = setInterval(() => master.write(text), 1000);
      master.write(text);
      try {
        await session.expect(pattern);
      } finally {
        clearInterval(timer);
      }
    },
    transcript: () => all,
    kill: (signal) => void child.kill(signal),
    exit,
  };
  return session;
}
