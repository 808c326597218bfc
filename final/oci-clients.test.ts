// Real clients of skiff's OCI runtime (final/skiff-runtime, runc's
// command line): containerd, through its runc v2 shim, and podman,
// through conmon, run busybox with it where they would run runc. Each
// client gets its own root, state dir and socket under a temp dir;
// busybox comes from skiff itself (`skiff save`), nothing is pulled.
// SKIFF_OCI_RUNTIME=/usr/sbin/runc runs the same tests on runc, which
// is how this harness was proven. The commands the clients call are
// runc(8)'s: create, start, exec, kill, delete, ps, pause, resume.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync,
  readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tty from 'node:tty';
import { openPty, setWinsize } from
  '../chapters/02-namespaces/console.ts';
import { hostMounts, isRoot, REPO, uniqueName } from '../support/testing.ts';
import {
  cgroupsBelow, type Out, removeEngineLeftovers, TestEngine, TIMEOUT,
  waitFor,
} from './testing.ts';

// Absolute: podman takes a bare name for one of containers.conf's.
const RUNTIME = resolve(process.env.SKIFF_OCI_RUNTIME ??
  join(REPO, 'final/skiff-runtime'));
const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`],
  { encoding: 'utf8' }).stdout.trim();
const CONTAINERD = which('containerd');
const CTR = which('ctr');
const SHIM = which('containerd-shim-runc-v2');
const PODMAN = which('podman');
const CONMON = which('conmon');

const base = !isRoot ? 'needs root (sudo npm test)'
  : !existsSync(RUNTIME) ? `no OCI runtime at ${RUNTIME} (build it, or ` +
    'set SKIFF_OCI_RUNTIME=/usr/sbin/runc to try the harness on runc)'
    : false;
const skipContainerd = base || (!CONTAINERD || !CTR || !SHIM) &&
  'no containerd, ctr or containerd-shim-runc-v2 (Debian package ' +
  'containerd; skiff does not need it)';
const skipPodman = base || (!PODMAN || !CONMON) &&
  'no podman or conmon (Debian package podman; skiff does not need it)';

/** `cmd args` to its end: what it printed and its exit code. */
function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Out {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env },
    encoding: 'utf8', timeout: TIMEOUT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `cmd args` in the background; settles when it has exited. */
function runAsync(cmd: string, args: string[], env?: NodeJS.ProcessEnv)
  : Promise<Out> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env },
    timeout: TIMEOUT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/**
 * Runs `cmd args` on a new pseudo-terminal as a user at a keyboard:
 * waits for busybox's prompt, types `stty size; echo $((6*7))`, checks
 * the answer, types `exit 5`. Returns the command's exit code.
 */
async function atKeyboard(cmd: string, args: string[],
  env?: NodeJS.ProcessEnv): Promise<number | null> {
  const pty = openPty();
  setWinsize(pty.master, 24, 80);
  const child: ChildProcess = spawn(cmd, args, {
    env: { ...process.env, ...env }, detached: true,
    stdio: [pty.slave, pty.slave, pty.slave] });
  closeSync(pty.slave);
  const master = new tty.ReadStream(pty.master);
  let seen = '';
  master.on('data', (d: Buffer) => { seen += d.toString(); });
  master.on('error', () => {}); // EIO once the client has gone
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      setTimeout(() => master.destroy(), 100);
      resolve(code);
    }));
  let ended = false;
  void exit.then(() => { ended = true; });
  const seenNow = () => JSON.stringify(seen);
  await waitFor('the prompt', () => ended || /\/ # /.test(seen), TIMEOUT)
    .catch((err) => assert.fail(`${err.message}: ${seenNow()}`));
  assert.match(seen, /\/ # /, `no prompt before the exit: ${seenNow()}`);
  master.write('stty size; echo $((6*7))\r');
  // (ctr's own terminal is not raw: its lines end "\r\r\n")
  await waitFor('the answer', () => /24 80\r+\n42\r+\n/.test(seen),
    TIMEOUT)
    .catch((err) => assert.fail(`${err.message}: ${seenNow()}`));
  master.write('exit 5\r');
  return exit;
}

// busybox as a docker archive, made once by a private skiff engine.
let tmp = '';
let busyboxTar = '';
before(async () => {
  if (skipContainerd && skipPodman) return;
  tmp = mkdtempSync(join(tmpdir(), 'sk-oci-'));
  busyboxTar = join(tmp, 'busybox.tar');
  const eng = new TestEngine('sk-ocis');
  try {
    await eng.startDaemon();
    eng.ok('save', '-o', busyboxTar, 'busybox');
  } finally {
    assert.deepEqual(eng.stop(), []);
  }
});
after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

/** The pids whose command line mentions `text` (shims, conmons). */
function processesNaming(text: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes(text)) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}

// #region containerd-config (unused)
/**
 * final/testdata/containerd.toml, the config the book quotes, for a
 * containerd under `dir` that runs `runtime` as the handler "skiff".
 */
export function containerdConfig(dir: string, runtime: string): string {
  return readFileSync(join(REPO, 'final/testdata/containerd.toml'), 'utf8')
    .replaceAll('@DIR@', dir).replaceAll('@RUNTIME@', runtime);
}
// #endregion

describe('containerd runs busybox through the OCI runtime',
  { skip: skipContainerd }, () => {
  let dir = '';
  let daemon: ChildProcess | undefined;
  // ctr's default cgroup for a task is /NAMESPACE/ID.
  const ns = uniqueName('skoci');
  const image = 'docker.io/library/busybox:latest';
  const ctr = (...args: string[]) =>
    run(CTR, ['-a', join(dir, 'containerd.sock'), '-n', ns, ...args]);
  const ctrAsync = (...args: string[]) =>
    runAsync(CTR, ['-a', join(dir, 'containerd.sock'), '-n', ns, ...args]);
  // The shim calls the runtime as its runc, its state under runtime/.
  const runFlags = () => ['--runc-binary', RUNTIME,
    '--runc-root', join(dir, 'runtime'), '--fifo-dir', join(dir, 'fifo')];
  const okCtr = (...args: string[]) => {
    const r = ctr(...args);
    assert.equal(r.status, 0, `ctr ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const running = (id: string) => new RegExp(`^${id}\\s+\\d+\\s+RUNNING`,
    'm').test(ctr('task', 'ls').stdout);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sk-ctd-'));
    mkdirSync(join(dir, 'cni/net.d'), { recursive: true });
    writeFileSync(join(dir, 'config.toml'), containerdConfig(dir, RUNTIME));
    const log = openSync(join(dir, 'containerd.log'), 'a');
    daemon = spawn(CONTAINERD, ['--config', join(dir, 'config.toml')],
      { stdio: ['ignore', log, log] });
    closeSync(log);
    await waitFor('containerd', () => ctr('version').status === 0, TIMEOUT);
    okCtr('images', 'import', busyboxTar);
  });

  after(async () => {
    if (!dir) return;
    // A failed test's tasks: removed with their shims, which would
    // outlive containerd.
    for (const id of ctr('containers', 'ls', '-q').stdout.split('\n')
      .filter(Boolean)) {
      ctr('task', 'rm', '-f', id);
      ctr('containers', 'rm', id);
    }
    if (daemon?.exitCode === null) {
      const gone = new Promise((r) => daemon!.on('exit', r));
      daemon.kill('SIGTERM');
      await gone;
    }
    for (const pid of processesNaming(join(dir, 'containerd.sock'))) {
      process.kill(pid, 'SIGKILL');
    }
    removeEngineLeftovers(dir, `/${ns}`);
  });

  test('the CRI plugin loads the config\'s runtime handler "skiff"', () => {
    // No CRI client (crictl) is packaged here: containerd 1.6 logs the
    // CRI config it loaded, where a RuntimeClass's handler is looked up.
    const log = readFileSync(join(dir, 'containerd.log'), 'utf8');
    assert.doesNotMatch(log, /failed to load plugin io\.containerd\.grpc/);
    const escaped = RUNTIME.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(log, new RegExp('skiff:\\{Type:io\\.containerd\\.runc\\.v2 ' +
      `[^}]*Options:map\\[BinaryName:${escaped} `));
  });

  test('ctr run --rm: output and a non-zero exit code pass through', () => {
    const r = ctr('run', ...runFlags(), '--rm', image, 'once',
      'sh', '-c', 'echo hi; exit 3');
    assert.equal(r.stdout, 'hi\n', r.stderr);
    assert.equal(r.status, 3, r.stderr);
  });

  test('ctr run --seccomp: containerd\'s default profile is applied', () => {
    // The profile a pod with seccompProfile RuntimeDefault gets (its
    // rules compare syscall arguments: clone's flags, personality's).
    const r = ctr('run', ...runFlags(), '--rm', '--seccomp', image,
      'filtered', 'grep', '^Seccomp:', '/proc/self/status');
    assert.equal(r.stdout, 'Seccomp:\t2\n', r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });

  test('ctr task exec runs in the task; ctr task kill -s SIGKILL ends it',
    async () => {
    const task = ctrAsync('run', ...runFlags(), '--rm', image, 'long',
      'sleep', '1000');
    await waitFor('task long running', () => running('long'), TIMEOUT);
    const r = ctr('task', 'exec', '--exec-id', 'e1', 'long', 'sh', '-c',
      'cat /proc/1/cmdline | tr "\\0" " "; echo $((6*7)); exit 4');
    assert.equal(r.stdout, 'sleep 1000 42\n', r.stderr);
    assert.equal(r.status, 4, r.stderr);
    okCtr('task', 'kill', '-s', 'SIGKILL', 'long');
    const end = await task;
    assert.equal(end.status, 137, end.stderr);
    assert.equal(ctr('task', 'ls', '-q').stdout, '');
  });

  test('ctr task kill sends SIGTERM, which the task traps', async () => {
    // A shell as pid 1 has no default action for SIGTERM: it traps it.
    const task = ctrAsync('run', ...runFlags(), '--rm', image, 'trap',
      'sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; ' +
      'while :; do sleep 1; done');
    await waitFor('task trap running', () => running('trap'), TIMEOUT);
    okCtr('task', 'kill', 'trap');
    const end = await task;
    assert.equal(end.stdout, 'ready\ngot TERM\n', end.stderr);
    assert.equal(end.status, 7, end.stderr);
  });

  test('ctr run -t: a shell on a terminal, its size, its exit code',
    async () => {
    const code = await atKeyboard(CTR, ['-a', join(dir, 'containerd.sock'),
      '-n', ns, 'run', ...runFlags(), '-t', '--rm', image, 'tty', 'sh']);
    assert.equal(code, 5);
  });

  test('leaves no task, runtime state, mount, shim or cgroup behind',
    () => {
    assert.equal(okCtr('task', 'ls', '-q'), '');
    assert.equal(okCtr('containers', 'ls', '-q'), '');
    const state = join(dir, 'runtime', ns);
    assert.deepEqual(existsSync(state) ? readdirSync(state) : [], []);
    assert.deepEqual(hostMounts().filter((m) => m.startsWith(dir)), []);
    assert.deepEqual(processesNaming(join(dir, 'containerd.sock'))
      .filter((p) => p !== daemon?.pid), []);
    assert.deepEqual(cgroupsBelow(`/${ns}`), []);
  });
});

describe('podman runs busybox through the OCI runtime',
  { skip: skipPodman }, () => {
  let dir = '';
  const parent = `/${uniqueName('skpod')}`;
  const env = () => ({ CONTAINERS_CONF: join(dir, 'containers.conf') });
  // Everything podman keeps goes under the test's dir. With no
  // --runtime-flag podman passes no --root: the runtime keeps its state
  // in its default root (runc's /run/runc), removed by `delete`.
  const globals = () => ['--root', join(dir, 'root'),
    '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'),
    '--network-config-dir', join(dir, 'net'), '--storage-driver',
    'overlay', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file',
    '--runtime', RUNTIME];
  // --network none: podman's default network is a CNI bridge with
  // firewall rules on the host; these tests send no traffic.
  const runArgs = () => ['--network', 'none', '--cgroup-parent', parent];
  const podman = (...args: string[]) =>
    run(PODMAN, [...globals(), ...args], env());
  const okPodman = (...args: string[]) => {
    const r = podman(...args);
    assert.equal(r.status, 0, `podman ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sk-pod-'));
    // podman asks for 1048576 open files and more processes than a
    // container host may grant (runc then fails: "error setting rlimit
    // type 7: operation not permitted"); lowering is always allowed.
    writeFileSync(join(dir, 'containers.conf'), [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
      '[engine]', 'cgroup_manager = "cgroupfs"', 'events_logger = "file"',
      ''].join('\n'));
    okPodman('load', '-i', busyboxTar);
  });

  after(() => {
    if (!dir) return;
    const left = podman('ps', '-aq').stdout.split('\n').filter(Boolean);
    if (left.length) podman('rm', '-f', ...left);
    removeEngineLeftovers(dir, parent);
  });

  const podmanRun = (...args: string[]) =>
    podman('run', ...runArgs(), ...args);

  test('podman run --rm busybox echo hi', () => {
    const r = podmanRun('--rm', 'busybox', 'echo', 'hi');
    assert.equal(r.stdout, 'hi\n', r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });

  test('a non-zero exit code passes through', () => {
    const r = podmanRun('--rm', 'busybox', 'sh', '-c', 'exit 3');
    assert.equal(r.status, 3, r.stderr);
  });

  test('a command not found exits 127, as in docker', () => {
    // podman reads the runtime's error: "no such file or directory" or
    // "executable file not found" make 127 (libpod's getOCIRuntimeError).
    const r = podmanRun('--rm', 'busybox', 'nosuchcommand');
    assert.equal(r.status, 127, r.stderr);
    assert.match(r.stderr, /"nosuchcommand": executable file not found in/);
    assert.match(r.stderr, /OCI runtime attempted to invoke a command that /);
  });

  test('a file that is not executable exits 126, as in docker', () => {
    const r = podmanRun('--rm', 'busybox', '/etc/passwd');
    assert.equal(r.status, 126, r.stderr);
    assert.match(r.stderr, /"\/etc\/passwd": permission denied: OCI perm/);
  });

  test('podman run -it: a shell on a terminal, its size, its exit code',
    async () => {
    const code = await atKeyboard(PODMAN, [...globals(), 'run',
      ...runArgs(), '-it', '--rm', 'busybox', 'sh'], env());
    assert.equal(code, 5);
  });

  test('podman exec in a detached container, podman stop, podman rm',
    () => {
    try {
      const r = podmanRun('-d', '--name', 'long', 'busybox', 'sleep',
        '1000');
      assert.equal(r.status, 0, r.stderr);
      assert.match(okPodman('ps'), /\blong\n/);
      const e = podman('exec', 'long', 'sh', '-c',
        'cat /proc/1/cmdline | tr "\\0" " "; echo $((6*7)); exit 4');
      assert.equal(e.stdout, 'sleep 1000 42\n', e.stderr);
      assert.equal(e.status, 4, e.stderr);
      // busybox sleep as pid 1 ignores SIGTERM: stop ends with SIGKILL.
      okPodman('stop', '-t', '1', 'long');
      assert.equal(okPodman('inspect', '-f', '{{.State.ExitCode}}',
        'long'), '137\n');
    } finally {
      // a failed start leaves a "created" container, as docker does
      podman('rm', '-f', 'long');
    }
  });

  test('leaves no container, runtime state, mount or cgroup behind', () => {
    assert.equal(okPodman('ps', '-aq'), '');
    // The runtime's own list, in its default root, has no container
    // whose bundle is podman's here.
    const l = run(RUNTIME, ['list', '--format', 'json']);
    assert.equal(l.status, 0, l.stderr);
    const listed = (JSON.parse(l.stdout) ?? []) as { bundle: string }[];
    assert.deepEqual(listed.filter((c) => c.bundle.startsWith(dir)), []);
    assert.deepEqual(hostMounts().filter((m) => m.startsWith(dir)), []);
    assert.deepEqual(processesNaming(dir).filter((p) => p !== process.pid),
      []);
    // conmon's own cgroup is podman's; the containers' must be gone.
    assert.deepEqual(cgroupsBelow(parent)
      .filter((d) => !/\/conmon$/.test(d)), []);
  });
});
