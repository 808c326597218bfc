// skiff-runtime (final/skiff-runtime, runc's command line) as a caller
// sees it from the host: exit codes, the state it reports, the
// processes, cgroups and files the kernel shows. Where the behaviour is
// runc's too, the same bundle goes through runc (/usr/sbin/runc, the
// Debian package) and the two answers must agree. Each test has its own
// --root per runtime under a temp dir and ids unique to this process;
// the bundles share chapter 01's busybox rootfs, read-only, with a host
// directory at /tmp for what the container writes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync, createReadStream, existsSync, mkdirSync, mkdtempSync, openSync,
  readdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { syscall } from '../chapters/01-chroot/kernel.ts';
import { cachedRootfs } from '../chapters/01-chroot/rootfs.ts';
import { receiveFds } from '../chapters/02-namespaces/console.ts';
import { procStat } from '../chapters/02-namespaces/procfs.ts';
import { isRoot, REPO, uniqueName } from '../support/testing.ts';
import { type Out, TIMEOUT } from './testing.ts';

const SKIFF = join(REPO, 'final/skiff-runtime');
const RUNC = '/usr/sbin/runc';
const HAVE_RUNC = existsSync(RUNC);
const opts = { skip: !isRoot && 'needs root (sudo npm test)' };

/** What the spec's state document must hold (runtime.md "State"). */
const STATE_KEYS = ['ociVersion', 'id', 'status', 'pid', 'bundle'];

/** The hooks in the order config.md has them run. */
const HOOKS = ['prestart', 'createRuntime', 'createContainer',
  'startContainer', 'poststart', 'poststop'];

/** One runtime binary with a --root of its own, for one test. */
class Runtime {
  readonly root: string;
  private ids: string[] = [];
  private n = 0;
  constructor(readonly name: string, readonly bin: string,
    readonly dir: string) {
    this.root = join(dir, 'root');
  }

  /**
   * `bin --root ROOT args`, to its exit. Output goes to files, not
   * pipes: a container created or exec'd detached keeps the runtime's
   * stdio, and a pipe would stay open as long as it lives.
   */
  cmd(args: string[], input?: string): Promise<Out> {
    const base = join(this.dir, `out${this.n++}`);
    const out = openSync(`${base}.out`, 'w+');
    const err = openSync(`${base}.err`, 'w+');
    const child = spawn(this.bin, ['--root', this.root, ...args], {
      stdio: [input === undefined ? 'ignore' : 'pipe', out, err],
      timeout: TIMEOUT });
    child.stdin?.end(input);
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => {
        closeSync(out);
        closeSync(err);
        resolve({ status: code, stdout: readFileSync(`${base}.out`, 'utf8'),
          stderr: readFileSync(`${base}.err`, 'utf8') });
      });
    });
  }

  /** The command, which must succeed; its stdout. */
  async ok(args: string[], input?: string): Promise<string> {
    const r = await this.cmd(args, input);
    assert.equal(r.status, 0, `${this.name} ${args.join(' ')}: ${
      r.stderr}`);
    return r.stdout;
  }

  /** The command, which must fail; its stderr. */
  async fails(args: string[]): Promise<string> {
    const r = await this.cmd(args);
    assert.notEqual(r.status, 0, `${this.name} ${args.join(' ')} ` +
      'should fail');
    return r.stderr;
  }

  async state(id: string): Promise<Record<string, any>> {
    return JSON.parse(await this.ok(['state', id]));
  }

  /**
   * A bundle running `args` (config from `skiff-runtime spec`, made
   * non-interactive), `patch` applied; deleted with --force at the end.
   */
  bundle(args: string[], patch: (c: Record<string, any>) => void = () => {})
    : Container {
    const id = uniqueName('rt');
    const bundle = join(this.dir, id);
    const out = join(bundle, 'out');
    mkdirSync(out, { recursive: true });
    const c = structuredClone(baseConfig());
    c.root = { path: cachedRootfs(), readonly: true };
    c.process.terminal = false;
    c.process.args = args;
    c.mounts.push({ destination: '/tmp', type: 'bind', source: out,
      options: ['rbind', 'rw'] });
    c.linux.cgroupsPath = `/${id}`;
    patch(c);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
    this.ids.push(id);
    return { id, bundle, out, cgroup: `/${id}` };
  }

  cleanup(): void {
    // Only those with a state dir left: each command costs a node start.
    for (const id of this.ids.filter((i) => existsSync(join(this.root, i)))) {
      spawnSync(this.bin, ['--root', this.root, 'delete', '--force', id],
        { timeout: TIMEOUT });
    }
  }
}

interface Container {
  id: string;
  bundle: string;
  /** The host directory the container sees at /tmp. */
  out: string;
  cgroup: string;
}

let base: Record<string, any> | undefined;
/** `skiff-runtime spec`'s config.json, written once. */
function baseConfig(): Record<string, any> {
  if (base) return base;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-rt-spec-'));
  try {
    const r = spawnSync(SKIFF, ['spec', '--bundle', dir],
      { encoding: 'utf8', timeout: TIMEOUT });
    assert.equal(r.status, 0, r.stderr);
    base = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    return base!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** skiff's runtime and, if this host has it, runc, for test `t`. */
function runtimes(t: TestContext): Runtime[] {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-rt-'));
  const list = [new Runtime('skiff', SKIFF, join(dir, 'skiff'))];
  if (HAVE_RUNC) list.push(new Runtime('runc', RUNC, join(dir, 'runc')));
  for (const rt of list) mkdirSync(rt.dir);
  // The containers first: their state is in `dir`.
  t.after(() => {
    list.forEach((rt) => rt.cleanup());
    rmSync(dir, { recursive: true, force: true });
  });
  return list;
}

/**
 * Runs `scenario` on every runtime at once; with runc there, its
 * transcript must equal skiff's. Returns skiff's.
 */
async function sameAsRunc<T>(t: TestContext,
  scenario: (rt: Runtime) => Promise<T>): Promise<T> {
  // Settled, both: a scenario that fails must not leave the other
  // running past the test's end.
  const results = await Promise.allSettled(runtimes(t).map(scenario));
  const [skiff, runc] = results.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  });
  if (runc !== undefined) assert.deepEqual(skiff, runc, 'skiff vs runc');
  return skiff;
}

/** The cgroup directories at `path`, in every hierarchy. */
function cgroupDirs(path: string): string[] {
  return ['', ...readdirSync('/sys/fs/cgroup')]
    .map((h) => join('/sys/fs/cgroup', h, path)).filter(existsSync);
}

/** Whether `pid` is in cgroup `path` (of some hierarchy). */
function inCgroup(pid: number, path: string): boolean {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')
    .some((l) => l.endsWith(`:${path}`));
}

/** Alive, not a zombie (that one has died: only wait(2) is left). */
const living = (pid: number) => {
  const st = procStat(pid);
  return !!st && st.state !== 'Z' && st.state !== 'X';
};

function freezer(path: string): string {
  const v1 = `/sys/fs/cgroup/freezer${path}/freezer.state`;
  if (existsSync(v1)) return readFileSync(v1, 'utf8').trim();
  const v2 = readFileSync(`/sys/fs/cgroup${path}/cgroup.freeze`, 'utf8');
  return v2.trim() === '1' ? 'FROZEN' : 'THAWED';
}

function memoryLimit(path: string): string {
  const v1 = `/sys/fs/cgroup/memory${path}/memory.limit_in_bytes`;
  return readFileSync(existsSync(v1) ? v1
    : `/sys/fs/cgroup${path}/memory.max`, 'utf8').trim();
}

/** Polls `cond` until it holds; fails naming `what` after a while. */
async function until(what: string, cond: () => Promise<boolean> | boolean)
  : Promise<void> {
  const end = Date.now() + TIMEOUT / 3;
  while (!await cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const untilStopped = (rt: Runtime, id: string) =>
  until(`${rt.name} ${id} stopped`,
    async () => (await rt.state(id)).status === 'stopped');

describe('skiff-runtime', opts, () => {
  test('run passes the exit code and output through, as runc',
    async (t) => {
      const r = await sameAsRunc(t, async (rt) => {
        const c = rt.bundle(['sh', '-c', 'echo out; echo err >&2; exit 3']);
        const r = await rt.cmd(['run', '--bundle', c.bundle, c.id]);
        assert.match(r.stderr, /err/, rt.name);
        return { status: r.status, stdout: r.stdout,
          left: existsSync(join(rt.root, c.id)),
          cgroups: cgroupDirs(c.cgroup) };
      });
      assert.deepEqual(r, { status: 3, stdout: 'out\n', left: false,
        cgroups: [] });
    });

  test('create, start, kill, delete: the lifecycle as runc has it',
    async (t) => {
      const seen = await sameAsRunc(t, lifecycle);
      assert.deepEqual(seen, ['created', 'running', 'running', 'stopped']);
    });
  test('exec, pause, resume, update, events in a running container, ' +
    'as runc', async (t) => {
    await sameAsRunc(t, running);
  });
  test('hooks run in order, each given the state on stdin', async (t) => {
    const skiff = await sameAsRunc(t, async (rt) => {
      const got = await hooked(rt);
      // runc's poststart and startContainer race; the order is skiff's.
      return Object.keys(got).sort();
    });
    assert.deepEqual(skiff, [...HOOKS].sort());
  });

  test('a failing prestart hook fails create and leaves nothing',
    async (t) => {
      await sameAsRunc(t, failingPrestart);
    });
  test('a failing startContainer hook fails start, before poststart',
    async (t) => {
      const [rt] = runtimes(t);
      const c = rt.bundle(['sh', '-c', 'echo ran > /tmp/ran'], (config) => {
        const out = config.mounts.at(-1).source;
        config.hooks = {
          startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }],
          poststart: [{ path: '/bin/sh', args: ['sh', '-c',
            `touch ${out}/poststart`] }] };
      });
      await rt.ok(['create', '--bundle', c.bundle, c.id]);
      await rt.fails(['start', c.id]);
      assert.equal((await rt.state(c.id)).status, 'stopped');
      assert.deepEqual(readdirSync(c.out), [], 'no command, no poststart');
      await rt.ok(['delete', c.id]);
    });

  test('the terminal goes to --console-socket: tty names /dev/pts/N',
    async (t) => {
      await sameAsRunc(t, consoleSocket);
    });

  test('spec writes a config.json both runtimes run', async (t) => {
    const rts = runtimes(t);
    const specs = await Promise.all(rts.map(async (rt) => {
      const dir = join(rt.dir, 'spec');
      mkdirSync(dir);
      await rt.ok(['spec', '--bundle', dir]);
      assert.match(await rt.fails(['spec', '--bundle', dir]), /exists/,
        `${rt.name}: spec over a config.json`);
      return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    }));
    // Each runtime's spec on each runtime, as written but for the
    // rootfs, the terminal, the command and a cgroup of the test's.
    const ran = await Promise.all(specs.flatMap((spec) =>
      rts.map(async (rt) => {
        const c = rt.bundle([], (config) => {
          const cgroup = config.linux.cgroupsPath;
          for (const k of Object.keys(config)) delete config[k];
          Object.assign(config, structuredClone(spec));
          config.root.path = cachedRootfs();
          config.process.terminal = false;
          config.process.args = ['echo', 'spec-ok'];
          config.linux.cgroupsPath = cgroup;
        });
        const r = await rt.cmd(['run', '--bundle', c.bundle, c.id]);
        return [rt.name, r.status, r.stdout, r.stderr];
      })));
    assert.deepEqual(ran.map((r) => r.slice(1, 3)),
      ran.map(() => [0, 'spec-ok\n']), JSON.stringify(ran));
  });
  test('unknown commands and flags fail, as runc', async (t) => {
    const seen = await sameAsRunc(t, async (rt) => {
      const r = await rt.cmd(['frobnicate', 'x']);
      const f = await rt.cmd(['list', '--frobnicate']);
      return [r.status !== 0, /frobnicate/.test(r.stderr), f.status !== 0];
    });
    assert.deepEqual(seen, [true, true, true]);
  });

  test('a spec field skiff does not do fails create, naming it; ' +
    'nothing is left', async (t) => {
    const [rt] = runtimes(t);
    const c = rt.bundle(['true'], (config) => {
      config.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE',
        priority: 0 };
    });
    for (const cmd of ['create', 'run']) {
      const err = await rt.fails([cmd, '--bundle', c.bundle, c.id]);
      assert.match(err, /process\.ioPriority/, `${cmd}: ${err}`);
      assert.equal(existsSync(join(rt.root, c.id)), false);
      assert.deepEqual(cgroupDirs(c.cgroup), []);
    }
    assert.match(await rt.fails(['state', c.id]), /not exist/);
  });

  test('properties the spec does not define are ignored, as runc',
    async (t) => {
      const seen = await sameAsRunc(t, async (rt) => {
        const c = rt.bundle(['echo', 'ok'], (config) => {
          config['org.skiff.test'] = { any: ['thing'] };
          config.process.skiffTest = true;
          config.linux.skiffTest = { x: 1 };
          config.mounts[0].skiffTest = 'y';
        });
        const r = await rt.cmd(['run', '--bundle', c.bundle, c.id]);
        return [r.status, r.stdout];
      });
      assert.deepEqual(seen, [0, 'ok\n']);
    });

  test('--systemd-cgroup is refused before anything is made',
    async (t) => {
      const [rt] = runtimes(t);
      const c = rt.bundle(['true']);
      const r = await rt.cmd(['--systemd-cgroup', 'run', '--bundle',
        c.bundle, c.id]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /systemd-cgroup/);
      assert.equal(existsSync(join(rt.root, c.id)), false);
      assert.deepEqual(cgroupDirs(c.cgroup), []);
    });

  test('features and --version name the spec version', async (t) => {
    const seen = await sameAsRunc(t, async (rt) => {
      const f = JSON.parse(await rt.ok(['features']));
      const spec = /^spec: (\S+)$/m.exec(await rt.ok(['--version']))?.[1];
      assert.match(f.ociVersionMax, /^1\.\d+\.\d+/, rt.name);
      assert.equal(spec, f.ociVersionMax, `${rt.name}: --version`);
      return { keys: Object.keys(f).sort(), hooks: [...f.hooks].sort(),
        namespaces: [...f.linux.namespaces].sort() };
    });
    assert.deepEqual(seen.hooks, [...HOOKS].sort());
  });
});

/**
 * create → start → kill → delete, checked on the host at each step;
 * the statuses `state` gave, for comparing with runc.
 */
async function lifecycle(rt: Runtime): Promise<string[]> {
  const c = rt.bundle(['sh', '-c', 'touch /tmp/ran; exec sleep 100']);
  const ran = join(c.out, 'ran');
  const pidFile = join(c.bundle, 'pid');
  const seen: string[] = [];
  const status = async () => {
    const s = await rt.state(c.id);
    for (const k of STATE_KEYS) assert.ok(k in s, `${rt.name}: ${k}`);
    assert.equal(s.id, c.id);
    assert.equal(s.bundle, c.bundle);
    seen.push(s.status);
    return s;
  };
  await rt.ok(['create', '--bundle', c.bundle, '--pid-file', pidFile,
    c.id]);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(living(pid), `${rt.name}: pid-file's ${pid} is alive`);
  assert.ok(inCgroup(pid, c.cgroup), `${rt.name}: ${pid} in ${c.cgroup}`);
  assert.equal(existsSync(ran), false, `${rt.name}: created, not run`);
  assert.equal((await status()).pid, pid);
  assert.match(await rt.fails(['create', '--bundle', c.bundle, c.id]),
    /exists/, `${rt.name}: a second create of ${c.id}`);
  const listed = JSON.parse(await rt.ok(['list', '--format', 'json']));
  assert.deepEqual(listed.map((l: any) => [l.id, l.pid, l.status]),
    [[c.id, pid, 'created']]);

  await rt.ok(['start', c.id]);
  await until(`${rt.name}: /tmp/ran`, () => existsSync(ran));
  assert.equal((await status()).pid, pid);
  assert.deepEqual(JSON.parse(await rt.ok(['ps', '--format', 'json',
    c.id])), [pid]);
  assert.match(await rt.fails(['delete', c.id]), /not stopped/,
    `${rt.name}: delete of a running container`);
  assert.ok(living(pid), `${rt.name}: delete without --force kept it`);
  await status();

  await rt.ok(['kill', c.id, 'KILL']);
  await untilStopped(rt, c.id);
  await status();
  assert.match(await rt.fails(['kill', c.id]), /not running/,
    `${rt.name}: kill of a stopped container`);
  await rt.ok(['delete', c.id]);
  assert.match(await rt.fails(['state', c.id]), /not exist/);
  assert.deepEqual(cgroupDirs(c.cgroup), [], `${rt.name}: cgroup gone`);
  assert.equal(existsSync(join(rt.root, c.id)), false,
    `${rt.name}: state dir gone`);
  assert.equal((await rt.ok(['list', '--format', 'json'])).trim(), 'null');
  return seen;
}

/** What the other commands do to a running container. */
async function running(rt: Runtime): Promise<object> {
  const c = rt.bundle(['sleep', '100']);
  await rt.ok(['run', '--detach', '--bundle', c.bundle, c.id]);
  const seen: Record<string, unknown> = {};
  const r = await rt.cmd(['exec', c.id, 'sh', '-c', 'echo in; exit 4']);
  seen.exec = [r.status, r.stdout];
  const proc = join(c.bundle, 'process.json');
  writeFileSync(proc, JSON.stringify({ args: ['sh', '-c', 'echo $0 $A',
    'p'], env: ['A=b', 'PATH=/bin'], cwd: '/tmp', user: { uid: 0, gid: 0 },
  }));
  const p = await rt.cmd(['exec', '--process', proc, c.id]);
  seen.process = [p.status, p.stdout];
  const pidFile = join(c.bundle, 'exec.pid');
  await rt.ok(['exec', '--detach', '--pid-file', pidFile, c.id,
    'sleep', '50']);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(living(pid), `${rt.name}: exec --detach's ${pid} lives`);
  // runc writes the pid file before its init has called execve(2).
  await until(`${rt.name}: ${pid} runs sleep`, () =>
    readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\x0050\x00');
  assert.ok(inCgroup(pid, c.cgroup), `${rt.name}: exec'd in the cgroup`);

  await rt.ok(['pause', c.id]);
  seen.paused = [freezer(c.cgroup), (await rt.state(c.id)).status];
  await rt.ok(['resume', c.id]);
  seen.resumed = [freezer(c.cgroup), (await rt.state(c.id)).status];
  await rt.ok(['update', '--resources', '-', c.id],
    JSON.stringify({ memory: { limit: 64 << 20 } }));
  seen.limit = memoryLimit(c.cgroup);
  const lines = (await rt.ok(['events', '--stats', c.id])).trim()
    .split('\n');
  assert.equal(lines.length, 1, `${rt.name}: one line`);
  const ev = JSON.parse(lines[0]);
  seen.events = [ev.type, ev.id === c.id, ev.data.memory.usage.limit];
  await rt.ok(['delete', '--force', c.id]);
  assert.equal(living(pid), false, `${rt.name}: the exec'd process died`);
  assert.deepEqual(cgroupDirs(c.cgroup), []);
  assert.deepEqual(seen, { exec: [4, 'in\n'], process: [0, 'p b\n'],
    paused: ['FROZEN', 'paused'], resumed: ['THAWED', 'running'],
    limit: String(64 << 20), events: ['stats', true, 64 << 20] });
  return seen;
}

/**
 * A container whose every hook appends its name to `order` and saves
 * its stdin, through create, start, its exit and delete. startContainer
 * runs in the container (after pivot_root: it sees the bundle's out/ at
 * /tmp), the others where the host's paths are. Checks skiff's order
 * and states; returns the states by hook.
 */
async function hooked(rt: Runtime): Promise<Record<string, any>> {
  const annotations = { 'org.skiff.test': 'hooks' };
  const c = rt.bundle(['true'], (config) => {
    config.annotations = annotations;
    config.hooks = Object.fromEntries(HOOKS.map((h) => {
      const dir = h === 'startContainer' ? '/tmp' : config.mounts.at(-1)
        .source;
      return [h, [{ path: '/bin/sh', args: ['sh', '-c',
        `cat > ${dir}/${h}.json; echo ${h} >> ${dir}/order`] }]];
    }));
  });
  const pidFile = join(c.bundle, 'pid');
  await rt.ok(['create', '--bundle', c.bundle, '--pid-file', pidFile,
    c.id]);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await rt.ok(['start', c.id]);
  await untilStopped(rt, c.id);
  await rt.ok(['delete', c.id]);
  const order = readFileSync(join(c.out, 'order'), 'utf8').trim()
    .split('\n');
  const got = Object.fromEntries(order.map((h) => [h,
    JSON.parse(readFileSync(join(c.out, `${h}.json`), 'utf8'))]));
  for (const [h, s] of Object.entries(got)) {
    assert.deepEqual([s.id, s.bundle, s.annotations],
      [c.id, c.bundle, annotations], `${rt.name} ${h}`);
  }
  if (rt.name !== 'skiff') return got;
  assert.deepEqual(order, HOOKS);
  const status = (h: string) => [h, got[h].status, got[h].pid];
  assert.deepEqual(HOOKS.map(status), [
    ['prestart', 'created', pid], ['createRuntime', 'created', pid],
    ['createContainer', 'created', pid],
    ['startContainer', 'running', pid], ['poststart', 'running', pid],
    ['poststop', 'stopped', 0]]);
  return got;
}

/** prestart exits 2: create fails, naming it, and nothing is left. */
async function failingPrestart(rt: Runtime): Promise<boolean> {
  const c = rt.bundle(['sleep', '100'], (config) => {
    config.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c',
      `cat > ${config.mounts.at(-1).source}/state.json; exit 2`] }] };
  });
  const pidFile = join(c.bundle, 'pid');
  const err = await rt.fails(['create', '--bundle', c.bundle,
    '--pid-file', pidFile, c.id]);
  assert.match(err, /hook/, rt.name);
  // The hook saw the container's process: it is gone now.
  const { pid } = JSON.parse(readFileSync(join(c.out, 'state.json'),
    'utf8'));
  assert.ok(pid > 0, `${rt.name}: a pid`);
  assert.equal(living(pid), false, `${rt.name}: ${pid} is gone`);
  assert.deepEqual(cgroupDirs(c.cgroup), [], `${rt.name}: no cgroup`);
  assert.equal(existsSync(join(rt.root, c.id)), false, `${rt.name}: state`);
  assert.equal(existsSync(pidFile), false, `${rt.name}: pid file`);
  assert.match(await rt.fails(['state', c.id]), /not exist/);
  return true;
}

const socket = syscall<[number, number, number]>(
  'int socket(int domain, int type, int protocol)');
const bind = syscall<[number, Buffer, number]>(
  'int bind(int fd, const void *addr, uint32_t len)');
const listen = syscall<[number, number]>('int listen(int fd, int backlog)');
const accept4 = syscall<[number, null, null, number]>(
  'int accept4(int fd, void *addr, void *len, int flags)');
const AF_UNIX = 1, SOCK_STREAM = 1, SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

/** A listening AF_UNIX stream socket at `path` (unix(7)). */
function listenAt(path: string): number {
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  addr.write(path, 2);
  // Non-blocking: a runtime that never connected fails accept, not hangs.
  const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  bind(fd, addr, addr.length);
  listen(fd, 1);
  return fd;
}

/** What the terminal's master reads until the last slave closes (EIO). */
function readTerminal(master: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const s = createReadStream('', { fd: master });
    s.on('data', (d) => { text += d; });
    s.on('error', () => resolve(text));
    s.on('end', () => resolve(text));
  });
}

/**
 * create with process.terminal and --console-socket: the runtime has
 * connected and sent the master before create returns (runc's
 * protocol, as containerd's shim and conmon expect it).
 */
async function consoleSocket(rt: Runtime): Promise<boolean> {
  const c = rt.bundle(['tty'], (config) => {
    config.process.terminal = true;
  });
  const path = join(c.bundle, 'console.sock');
  const listener = listenAt(path);
  let master: number;
  try {
    await rt.ok(['create', '--bundle', c.bundle, '--console-socket', path,
      c.id]);
    const conn = accept4(listener, null, null, SOCK_CLOEXEC);
    try {
      master = receiveFds(conn, 1, `${rt.name}'s console`)[0];
    } finally {
      closeSync(conn);
    }
  } finally {
    closeSync(listener);
  }
  const output = readTerminal(master);
  await rt.ok(['start', c.id]);
  assert.match(await output, /^\/dev\/pts\/\d+\r?\n$/, rt.name);
  await untilStopped(rt, c.id);
  await rt.ok(['delete', c.id]);
  return true;
}
