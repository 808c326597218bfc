// The daemon against a host that misbehaves (issue 19): its state dir
// fills up while a container logs, or turns read-only. The state root
// is a small tmpfs of the test's own, never the machine's.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'node:http';
import { hostMounts } from '../support/testing.ts';
import { answerOf, BadRequest, Conflict } from './daemon/errors.ts';
import { writeError } from './daemon/state.ts';
import {
  cgroupsBelow, TestEngine, TIMEOUT, waitFor,
} from './testing.ts';

const root = process.getuid?.() === 0;
const engine = new TestEngine('sk-full');
const sh = (cmd: string) => spawnSync('sh', ['-c', cmd],
  { encoding: 'utf8' });

// A read-only view of the state dir: a bind mount of it, remounted
// read-only. A plain `remount,ro` is refused (EBUSY) while the daemon
// holds files open for writing; the bind is a mount of its own, with
// no writers yet, and every path the daemon opens from now on goes
// through it. Its open logs keep writing below (mount(8), "bind").
function readOnly(on: boolean): void {
  // The state root, and the network state (elsewhere in a test engine).
  for (const dir of [engine.root, engine.cfg.stateDir]) {
    const cmd = on ? `mount --bind ${dir} ${dir} && ` +
      `mount -o remount,bind,ro ${dir}` : `umount ${dir}`;
    const r = sh(cmd);
    assert.equal(r.status, 0, r.stderr);
  }
}

describe('a full or read-only state dir', { skip: !root &&
  'needs root', timeout: TIMEOUT * 4 }, () => {
  before(async () => {
    mkdirSync(engine.root, { recursive: true });
    // 48 MB: busybox's layer and a container's, and not much else.
    assert.equal(sh(`mount -t tmpfs -o size=48m sk-full ${engine.root}`)
      .status, 0);
    await engine.startDaemon();
  });
  after(() => {
    const left = engine.stop();
    assert.deepEqual(left.filter((m) => m !== engine.root), []);
  });

  it('keeps the daemon and the container when the log cannot grow',
    async () => {
      const filler = join(engine.root, 'filler');
      const id = engine.ok('run', '-d', 'busybox', 'sh', '-c',
        'i=0; while true; do i=$((i+1)); echo line $i; sleep 0.05; done')
        .trim();
      // Fill what is left: dd stops at ENOSPC.
      sh(`dd if=/dev/zero of=${filler} bs=64k 2>/dev/null`);
      const log = join(engine.dir, 'daemon.log');
      await waitFor('the daemon to report dropped lines', () =>
        readFileSync(log, 'utf8').includes('dropping lines'), TIMEOUT);
      // Still answering, still supervising; inspect counts the loss.
      assert.match(engine.ok('ps', '-q', '--no-trunc'), new RegExp(id));
      const skiff = JSON.parse(engine.ok('inspect', id))[0].Skiff;
      assert.ok(skiff.LogLinesDropped > 0, JSON.stringify(skiff));
      // Each write the disk refuses is a 500 that names it, and leaves
      // nothing half-made.
      for (const [method, path, body] of [
        ['POST', '/volumes/create', { Name: 'skfullvol' }],
        ['POST', '/images/busybox/tag?repo=skfull', undefined],
      ] as const) {
        const r = await engine.api(method, path, body);
        assert.equal(r.status, 500, `${path}: ${r.body}`);
        assert.match(r.body, /no space left on device/, path);
      }
      assert.ok(!existsSync(join(engine.root, 'volumes', 'skfullvol')));
      rmSync(filler);
      const count = () => engine.ok('logs', id).split('\n').length;
      const was = count();
      await waitFor('logging to resume', () => count() > was + 5, TIMEOUT);
      assert.match(readFileSync(log, 'utf8'), /writing again/);
      engine.ok('rm', '-f', id);
    });

  it('names a read-only state dir and stays up', async () => {
    const id = engine.ok('run', '-d', '--name', 'skro', 'busybox', 'sleep',
      '1000').trim();
    const made = engine.ok('create', 'busybox', 'true').trim();
    readOnly(true);
    try {
      const r = engine.sk(['create', 'busybox']);
      assert.equal(r.status, 125, r.stderr);
      assert.match(r.stderr,
        /^skiff: cannot write .*\/containers\/\w+: read-only file system$/m);
      // Every other write path: a 500 naming the disk, nothing changed.
      for (const [method, path, body] of [
        ['POST', `/containers/${made}/start`, undefined],
        ['POST', `/containers/${id}/pause`, undefined],
        ['POST', `/containers/${id}/rename?name=skro2`, undefined],
        ['POST', '/volumes/create', { Name: 'skrovol' }],
        ['POST', '/networks/create', { Name: 'skronet' }],
        ['POST', '/images/busybox/tag?repo=skro', undefined],
      ] as const) {
        const a = await engine.api(method, path, body);
        assert.equal(a.status, 500, `${path}: ${a.body}`);
        assert.match(a.body, /read-only file system/, path);
      }
      const state = JSON.parse(engine.ok('inspect', id))[0];
      assert.deepEqual([state.Name, state.State.Paused], ['/skro', false]);
      // stop used to die on an EROFS of the lock. It stops (a pause it
      // could not record was undone: a frozen one would never end), and
      // the exit's state write fails; the daemon logs it and lives.
      const stop = await engine.api('POST', `/containers/${id}/stop?t=1`);
      assert.equal(stop.status, 204, stop.body);
      await waitFor('the exit to be seen', () =>
        readFileSync(join(engine.dir, 'daemon.log'), 'utf8')
          .includes(`container ${id.slice(0, 12)}: cannot write`), TIMEOUT);
      assert.equal(engine.sk(['ps', '-a']).status, 0);
    } finally {
      readOnly(false);
    }
    engine.ok('rm', '-f', id, made);
  });

  it('refuses to start on a read-only state dir, saying so', async () => {
    // The daemon is this process's child: a zombie till the event loop
    // reaps it, so its socket's removal says it is gone.
    process.kill(engine.daemonPid(), 'SIGTERM');
    await waitFor('the daemon to stop', () => !existsSync(engine.sock));
    readOnly(true);
    let r: SpawnSyncReturns<string>;
    try {
      r = spawnSync(process.execPath, ['--import', 'tsx',
        'final/cli.ts', 'daemon'], { env: { ...process.env, ...engine.env },
        encoding: 'utf8', timeout: TIMEOUT });
    } finally {
      readOnly(false);
    }
    assert.equal(r.status, 125, r.stderr);
    assert.match(r.stderr, new RegExp(
      `cannot write ${engine.root}: read-only file system`));
  });
});

describe('a daemon killed in the middle of a start', { skip: !root &&
  'needs root', timeout: TIMEOUT * 4 }, () => {
  const e = new TestEngine('sk-kill');
  before(() => e.startDaemon());
  after(() => assert.deepEqual(e.stop(), []));

  /** POST /containers/ID/start, and a SIGKILL of the daemon `ms` in. */
  async function killedStart(id: string, ms: number): Promise<void> {
    const pid = e.daemonPid();
    const req = request({ socketPath: e.sock, method: 'POST',
      path: `/containers/${id}/start` });
    req.on('error', () => {}); // the daemon dies under it
    req.end();
    await new Promise((r) => setTimeout(r, ms));
    process.kill(pid, 'SIGKILL');
    await waitFor('the daemon to die', () => !alive(pid));
    await e.startDaemon();
  }

  it('leaves a container it lists as running, or nothing', async () => {
    const bridge = e.cfg.defaultBridge;
    for (const ms of [0, 10, 25, 40, 60, 80, 110, 150]) {
      const id = e.ok('create', 'busybox', 'sleep', '1000').trim();
      await killedStart(id, ms);
      const state = JSON.parse(e.ok('inspect', id))[0].State;
      const mine = (s: string) => s.includes(id);
      const cgroups = cgroupsBelow(e.cgroupParent).filter(mine);
      const mounts = hostMounts().filter(mine);
      const veths = links(bridge);
      if (state.Running) {
        assert.ok(alive(state.Pid), `${ms} ms: pid ${state.Pid}`);
        assert.ok(cgroups.length > 0 && veths.length === 1, `${ms} ms`);
      } else {
        assert.deepEqual({ cgroups, mounts, veths },
          { cgroups: [], mounts: [], veths: [] }, `${ms} ms in`);
        assert.equal(processesIn(id), 0, `${ms} ms: a process left`);
      }
      e.ok('rm', '-f', id);
      assert.deepEqual(links(bridge), [], `${ms} ms: veth after rm`);
    }
  });

  it('refuses archive members that leave the destination', async () => {
    const id = e.ok('run', '-d', 'busybox', 'sleep', '1000').trim();
    const mark = `skiff-escape-${process.pid}`;
    for (const members of [[`../../../../tmp/${mark}`],
      [`/tmp/${mark}`], ['ln:/tmp', `ln/${mark}`]]) {
      const r = await put(`/containers/${id}/archive?path=/`,
        tarOf(members));
      assert.equal(r.status, 400, `${members}: ${r.body}`);
      assert.match(r.body, /"message":"archive: /);
      assert.ok(!existsSync(`/tmp/${mark}`), `${members} wrote outside`);
    }
    e.ok('rm', '-f', id);
  });

  it('answers wrongly typed and hostile bodies with 400', async () => {
    const before = e.ok('ps', '-aq').split('\n').length;
    const img = { Image: 'busybox' };
    const hc = (h: unknown) => ({ ...img, HostConfig: h });
    // Sent as text: JSON.stringify itself overflows the stack on it.
    const deep = new Raw('['.repeat(100_000) + ']'.repeat(100_000));
    const creates: unknown[] = [{ ...img, Cmd: 123 }, { ...img, Cmd: [1, 2] },
      { ...img, Env: 'A=1' }, { ...img, Labels: 'x' }, { ...img, Tty: 'yes' },
      hc([]), hc({ Memory: 'lots' }), hc({ Memory: -5 }),
      hc({ NanoCpus: -1 }),
      hc({ PortBindings: { '80/tcp': [{ HostPort: '99999' }] } }),
      hc({ PortBindings: { http: [{ HostPort: '80' }] } }),
      hc({ RestartPolicy: { Name: 'sometimes' } }), hc({ Binds: 'x' }),
      null, [], 123, 'busybox', {}, deep, { Image: 123 }, { Image: null },
      { Image: [] }, { ...img, Entrypoint: 5 }, { ...img, Env: [1] },
      { ...img, WorkingDir: 'relative' }];
    for (const body of creates) {
      const r = await call('POST', '/containers/create', body);
      const text = body instanceof Raw ? 'deep' : JSON.stringify(body);
      assert.equal(r.status, 400, `${text}: ${r.body}`);
    }
    const nets = e.ok('network', 'ls', '-q').split('\n').length;
    const others: [string, string, unknown][] = [
      ['POST', '/networks/create', { Name: 'skbad',
        IPAM: { Config: [{ Subnet: 'garbage' }] } }],
      ['POST', '/networks/create', { Name: 5 }],
      ['POST', '/containers/none/update', { Memory: 'x' }],
      ['POST', '/containers/none/exec', { Cmd: 5 }],
    ];
    for (const [method, path, body] of others) {
      const r = await call(method, path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ` +
        r.body);
    }
    assert.equal(e.ok('ps', '-aq').split('\n').length, before);
    assert.equal(e.ok('network', 'ls', '-q').split('\n').length, nets);
  });

  it('checks every route\'s query parameters at the door', async () => {
    const up = e.ok('run', '-d', 'busybox', 'sleep', '1000').trim();
    const c = `/containers/${up}`;
    const atoi = (v: string) => `strconv.Atoi: parsing \\"${v}\\": invalid`;
    // [method, path, status, dockerd's words (20.10, where it has a 400)]
    const table: [string, string, number, string][] = [
      ['POST', `${c}/stop?t=abc`, 400, atoi('abc')],
      ['POST', `${c}/restart?t=1.5`, 400, atoi('1.5')],
      ['POST', `${c}/stop?signal=FOO`, 400, 'Invalid signal: FOO'],
      ['POST', `${c}/kill?signal=FOO`, 400, 'Invalid signal: FOO'],
      ['POST', `${c}/kill?signal=999`, 400, 'Invalid signal: 999'],
      ['POST', `${c}/kill?signal=0`, 400, 'Invalid signal: 0'],
      ['POST', `${c}/wait?condition=bogus`, 400, 'invalid condition'],
      ['POST', `${c}/resize?h=abc&w=1`, 400, atoi('abc')],
      ['POST', `${c}/resize?w=1`, 400, atoi('')],
      ['POST', `${c}/resize?h=99999999999&w=1`, 400, 'out of range'],
      ['POST', '/exec/none/resize?h=a&w=1', 400, atoi('a')],
      ['GET', `${c}/logs?stdout=1&since=abc`, 400, 'not Unix seconds'],
      ['GET', `${c}/logs?stdout=1&until=1x`, 400, 'not Unix seconds'],
      ['GET', `${c}/logs`, 400, 'you must choose at least one stream'],
      // dockerd reads tail as Atoi or "all": abc is every line, no 400.
      ['GET', `${c}/logs?stdout=1&tail=abc`, 200, ''],
      // BoolValue: any value is one (dockerd answers all=maybe too).
      ['GET', '/containers/json?all=maybe', 200, ''],
      ['GET', '/containers/json?limit=abc', 400, atoi('abc')],
      ['GET', '/containers/json?filters=abc', 400, 'invalid filter'],
      ['POST', '/containers/create?name=/b!', 400, 'Invalid container name'],
      ['POST', '/containers/create?name=a', 400, 'Invalid container name'],
      ['GET', '/events?since=abc', 400, 'not Unix seconds'],
      ['POST', '/build/prune?keep-storage=abc', 400, atoi('abc')],
      ['POST', '/build?memory=abc', 400, atoi('abc')],
      ['GET', `${c}/top?ps_args=--bogus`, 400, 'ps: error'],
    ];
    for (const [method, path, status, words] of table) {
      const r = await call(method, path, method === 'POST' &&
        path.includes('create') ? { Image: 'busybox' } : undefined);
      assert.equal(r.status, status, `${method} ${path}: ${r.body}`);
      assert.ok(r.body.includes(words), `${path}: ${r.body}`);
    }
    e.ok('rm', '-f', up);
  });

  it('answers hostile requests to every route with 4xx', async () => {
    const up = e.ok('run', '-d', 'busybox', 'sleep', '1000').trim();
    const made = e.ok('create', 'busybox', 'true').trim();
    const before = e.ok('ps', '-aq').split('\n').length;
    const c = `/containers/${up}`;
    const long = 'a'.repeat(300);
    const tar = new Raw('not a tar');
    const table: [string, string, unknown?][] = [
      ['GET', '/containers/%ZZ/json'], ['GET', '/containers/none/json'],
      ['GET', `/containers/${'a'.repeat(10_000)}/json`],
      ['POST', '/containers/none/start'], ['POST', `${c}/start`, tar],
      ['POST', `/containers/${made}/pause`], ['POST', `${c}/unpause`],
      ['POST', `${c}/rename`], ['POST', `${c}/rename?name=b!`],
      ['POST', `${c}/update`, []],
      ['POST', `${c}/update`, { CpusetCpus: 'garbage' }],
      ['POST', `${c}/update`, { CpusetMems: 'garbage' }],
      ['POST', `${c}/update`, { PidsLimit: 2 ** 53 - 1 }],
      ['POST', `${c}/update`, { CpuQuota: 2 ** 53 - 1 }],
      ['DELETE', '/containers/none'], ['DELETE', c],
      ['GET', '/containers/none/changes'], ['GET', '/containers/none/export'],
      ['POST', '/containers/prune?filters=%7B%22until%22:%5B%22x%22%5D%7D'],
      ['GET', `${c}/archive`], ['HEAD', `${c}/archive`],
      ['GET', `${c}/archive?path=/none`], ['PUT', `${c}/archive?path=/none`],
      ['PUT', `${c}/archive?path=/tmp`, tar],
      ['POST', `${c}/exec`, {}], ['POST', `/containers/${made}/exec`,
        { Cmd: ['true'] }], ['POST', `${c}/exec`, { Cmd: ['x'], Env: ['=x'] }],
      ['POST', '/exec/none/start'], ['GET', '/exec/none/json'],
      ['GET', '/images/none/json'], ['GET', '/images/none/history'],
      ['POST', '/images/busybox/tag?repo=BAD!!'],
      ['POST', '/images/busybox/tag'], ['DELETE', '/images/none'],
      ['POST', '/images/load', tar], ['GET', '/images/get'],
      ['GET', '/images/get?names=none'], ['POST', '/images/none/push'],
      ['POST', '/images/create?fromImage=BAD!!'],
      ['POST', '/commit?container=none'],
      ['POST', `/commit?container=${up}&repo=BAD!!`],
      ['POST', '/build', tar], ['POST', '/build?dockerfile=none', tar],
      ['GET', '/networks/nosuchnet'], ['DELETE', '/networks/nosuchnet'],
      ['DELETE', '/networks/bridge'],
      ['POST', '/networks/create', { Name: 'a/b' }],
      ['POST', '/networks/create', { Name: long }],
      ['POST', '/networks/create', { Name: 'skbad',
        IPAM: { Config: [{ Subnet: '0.0.0.0/0' }] } }],
      ['POST', '/networks/create', { Name: 'skbad', Driver: 'overlay' }],
      ['POST', '/networks/bridge/connect', { Container: 'none' }],
      ['POST', '/networks/none/connect', { Container: up }],
      ['POST', '/networks/nosuchnet/disconnect', { Container: up }],
      ['POST', '/volumes/create', { Name: 'a!' }],
      ['POST', '/volumes/create', { Name: long }],
      ['POST', '/volumes/create', { Name: 5 }],
      ['POST', '/volumes/create', { Labels: 'x' }],
      ['GET', '/volumes/none'], ['DELETE', '/volumes/none'],
      ['PUT', `${c}/stop`], ['PATCH', '/containers/json'],
      ['DELETE', '/_ping'],
    ];
    for (const [method, path, body] of table) {
      const r = method === 'PUT' && body instanceof Raw
        ? await put(path, Buffer.from(body.text))
        : await call(method, path, body);
      const what = `${method} ${path.slice(0, 60)}: ${r.body.slice(0, 200)}`;
      assert.ok(r.status >= 400 && r.status < 500, what);
    }
    // Nothing made, and still up, the container still running.
    assert.equal(e.ok('ps', '-aq').split('\n').length, before);
    assert.ok(!e.ok('network', 'ls').includes('skbad'));
    assert.ok(!e.ok('volume', 'ls').includes(long));
    assert.equal(JSON.parse(e.ok('inspect', up))[0].State.Running, true);
    e.ok('rm', '-f', up, made);
  });

  it('keeps to the documented limits', async () => {
    const big = 'x'.repeat(200 << 10); // past MAX_STRING, within the body
    for (const [path, body, words] of [
      ['/containers/create', { Image: 'busybox', Labels: { big } },
        'invalid label big'],
      ['/containers/create', { Image: 'busybox', Env: [`BIG=${big}`] },
        'invalid environment variable BIG'],
      ['/volumes/create', { Name: 'a'.repeat(256) }, 'NAME_MAX'],
      ['/networks/create', { Name: 'skl', Labels: { big } }, 'invalid label'],
      ['/containers/create', new Raw('['.repeat(65) + ']'.repeat(65)),
        'nesting deeper than 64'],
    ] as const) {
      const r = await call('POST', path, body);
      assert.equal(r.status, 400, `${path}: ${r.body.slice(0, 200)}`);
      assert.ok(r.body.includes(words), r.body.slice(0, 200));
    }
  });

  it('refuses a 100 MB body without keeping it', async () => {
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(
      `/proc/${e.daemonPid()}/status`, 'utf8'))![1]) * 1024;
    const was = rss();
    const label = 'x'.repeat(100 << 20);
    const r = await call('POST', '/containers/create',
      { Image: 'busybox', Labels: { big: label } });
    assert.equal(r.status, 400, r.body);
    assert.ok(rss() - was < 20 << 20, `RSS grew ${rss() - was} bytes`);
  });

  function call(method: string, path: string, body: unknown)
    : Promise<{ status: number; body: string }> {
    const text = body instanceof Raw ? body.text : JSON.stringify(body);
    return send(method, path, Buffer.from(text ?? ''), 'application/json');
  }

  /** A tar of files (one byte each) and symlinks ("name:target"). */
  function tarOf(members: string[]): Buffer {
    const py = 'import tarfile,io,sys\nb=io.BytesIO()\n' +
      't=tarfile.open(fileobj=b,mode="w")\n' +
      'for m in sys.argv[1:]:\n' +
      ' n,_,l=m.partition(":"); i=tarfile.TarInfo(n)\n' +
      ' if l: i.type=tarfile.SYMTYPE; i.linkname=l\n' +
      ' else: i.size=1\n' +
      ' t.addfile(i, None if l else io.BytesIO(b"x"))\n' +
      't.close(); sys.stdout.buffer.write(b.getvalue())\n';
    return spawnSync('python3', ['-c', py, ...members]).stdout;
  }

  function put(path: string, body: Buffer)
    : Promise<{ status: number; body: string }> {
    return send('PUT', path, body, 'application/x-tar');
  }

  function send(method: string, path: string, body: Buffer, type: string)
    : Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      // A connection of its own: one the daemon closed after an early
      // answer (a refused upload) must not carry the next request.
      const req = request({ socketPath: e.sock, method, path,
        agent: false, headers: { 'Content-Type': type } },
      (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode!,
          body: text }));
      });
      // The daemon may answer a body it refuses before it is all sent,
      // and close: the rest of the write fails, the answer stands.
      req.on('socket', (socket) => socket.on('error', () => {}));
      req.on('error', (err) => (err as NodeJS.ErrnoException).code ===
        'EPIPE' ? undefined : reject(err));
      req.on('close', () => reject(new Error(`${method} ${path}: the ` +
        'connection closed without an answer')));
      req.end(body);
    });
  }
});

describe('errors as data', () => {
  const op = 'POST /containers/x/start';
  const erofs = Object.assign(new Error('EROFS: read-only file system, ' +
    "open '/r/lock'"), { code: 'EROFS', syscall: 'open', path: '/r/lock' });
  // [thrown, status answered, words the client gets]
  const table: [unknown, number, RegExp][] = [
    [new BadRequest('bad t'), 400, /^bad t$/],
    [new Conflict('in use'), 409, /^in use$/],
    [new TypeError('cmd.includes is not a function'), 500,
      /^POST \/containers\/x\/start: internal error in the daemon; its log/],
    [new RangeError('Maximum call stack size exceeded'), 500,
      /: internal error in the daemon;/],
    // execFileSync's error: `status` is ps's exit status, not HTTP's.
    [Object.assign(new Error('Command failed: ps --x'), { status: 1 }), 500,
      /^Command failed/],
    [Object.assign(new Error("ENOENT: open '/r/x'"), { code: 'ENOENT',
      syscall: 'open' }), 500, /internal error in the daemon \(ENOENT\)/],
    [erofs, 500, /^cannot write \/r\/lock: read-only file system$/],
    [new Error('lock /r/lock: EROFS', { cause: erofs }), 500,
      /^cannot write \/r\/lock: read-only file system$/],
    [writeError('/r/state.json', erofs), 500,
      /^cannot write \/r\/state.json: read-only file system$/],
    ['a string', 500, /internal error/],
  ];
  it('maps each error to its status and words, once', () => {
    for (const [thrown, status, words] of table) {
      const a = answerOf(thrown, op);
      assert.equal(a.status, status, String(thrown));
      assert.match((a.err as Error).message, words, String(thrown));
      assert.equal(a.logged, status === 500);
    }
  });
});

/** A body sent as it is, not through JSON.stringify. */
class Raw {
  constructor(readonly text: string) {}
}

function alive(pid: number): boolean {
  // A zombie (this process's own child till reaped) counts as dead.
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function links(bridge: string): string[] {
  const r = sh(`ip -j link show master ${bridge} 2>/dev/null`);
  return (JSON.parse(r.stdout || '[]') as { ifname: string }[])
    .map((l) => l.ifname);
}

/** Processes whose cgroup path names the container. */
function processesIn(id: string): number {
  return sh(`grep -l ${id} /proc/[0-9]*/cgroup 2>/dev/null | wc -l`)
    .stdout.trim() === '0' ? 0 : 1;
}
