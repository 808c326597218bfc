// The start itself: --init, exec into a running container, what a
// failed or finished start leaves behind (nothing), and the demo.
import assert from 'node:assert/strict';
import { closeSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { describe, test } from 'node:test';
import tty from 'node:tty';
import {
  hostMounts, needsRoot, runTs, uniqueName,
} from '../../support/testing.ts';
import { cachedRootfs } from '../01-chroot/rootfs.ts';
import { DEFAULT_ENV } from '../01-chroot/chroot.ts';
import { idRange } from './defaults.ts';
import { execInContainer } from './exec.ts';
import {
  background, collect, pidsInNamespace, processState, run, specWith, until,
  userNsWorks,
} from './harness.ts';
import type { Spec } from './spec.ts';
import { startContainer } from './start.ts';
import type { StartStep } from './steps.ts';

const DEMO = 'chapters/02-namespaces/run.ts';
// tsx alone takes seconds to start in the (emulated) vm-run guest.
const demo = (args: string[]) => runTs(DEMO, args, { timeout: 300_000 });

/**
 * Host mounts at or under the shared rootfs: any would be a leak (others'
 * tests mount and unmount elsewhere at the same time).
 */
const leftMounts = () => hostMounts().filter(
  (m) => m.startsWith(cachedRootfs()));

/** States of the processes in `pid`'s pid namespace, from the host. */
function statesInside(nsLink: string): string[] {
  return pidsInNamespace(nsLink).map((p) => processState(p) ?? '-');
}

describe('chapter 02: --init', needsRoot, () => {
  // The subshell leaves `sleep` an orphan: it is re-parented to PID 1,
  // which must wait(2) for it once it exits, or it stays a zombie.
  const orphan = ['sh', '-c', '(sleep 0.2 &); exec sleep 60'];

  for (const init of [true, false]) {
    test(`orphaned zombies are ${init ? '' : 'not '}reaped`, async (t) => {
      const c = await background(t, specWith(orphan, [], { init }));
      const ns = readlinkSync(`/proc/${c.pid}/ns/pid`);
      // Orphan born, then dead (reaped, or a zombie).
      assert.ok(await until(() => statesInside(ns).length >= (init ? 3 : 2)
        || statesInside(ns).includes('Z'), 3000), 'no orphan seen');
      // Two processes left: PID 1 and the other sleep, or PID 1 and the
      // orphan's zombie (the subshell's own brief zombie, which sh
      // reaps, comes with a third process and does not count).
      const settled = await until(() => {
        const states = statesInside(ns);
        return states.length === 2 && (init || states.includes('Z'));
      });
      assert.ok(settled, `states: ${statesInside(ns)}`);
      assert.equal(statesInside(ns).includes('Z'), !init);
    });

    test(`SIGTERM ${init ? 'is forwarded' : 'is ignored by PID 1'}`,
      async (t) => {
        const c = await background(t, specWith(['sleep', '60'], [],
          { init }));
        await until(() => statesInside(
          readlinkSync(`/proc/${c.pid}/ns/pid`)).length === (init ? 2 : 1));
        c.kill('SIGTERM');
        const status = await Promise.race([c.wait(),
          new Promise((r) => setTimeout(() => r('running'), 700))]);
        // With no handler, PID 1 of a pid namespace never gets SIGTERM.
        assert.deepEqual(status, init ? { code: 143 } : 'running');
      });
  }

  test('a missing command under --init fails with 127', async () => {
    await assert.rejects(run(specWith(['no-such-cmd'], [], { init: true })),
      { exitCode: 127 });
  });
});

describe('chapter 02: stdio', needsRoot, () => {
  test('piped stdin reaches the command; output is whole', async () => {
    const c = await startContainer(specWith(['sh', '-c',
      'echo first; cat; echo oops >&2']), {
      id: uniqueName('t'), stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Late on purpose: the command may have printed and waited already.
    await new Promise((r) => setTimeout(r, 300));
    c.stdin!.end('from the engine\n');
    const [out, err, status] = await Promise.all([collect(c.stdout),
      collect(c.stderr), c.wait()]);
    await c.destroy();
    assert.equal(status.code, 0);
    assert.equal(out, 'first\nfrom the engine\n');
    assert.equal(err, 'oops\n');
  });
});

describe('chapter 02: terminal', needsRoot, () => {
  /** What the terminal shows until `pattern`; then the master is closed
   * (it would read EIO, not EOF, once the last slave is closed). */
  /**
   * Reads the master until `pattern` shows, then (after `hold`, if given)
   * closes it. Closing a master hangs its session up: a command still
   * exiting would die of SIGHUP.
   */
  function readUntil(master: number, pattern: RegExp,
    hold?: Promise<unknown>): Promise<string> {
    const stream = new tty.ReadStream(master);
    let text = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.destroy();
        reject(new Error(`no ${pattern} in ${JSON.stringify(text)}`));
      }, 15_000);
      stream.on('data', (d) => {
        text += d;
        if (!pattern.test(text)) return;
        clearTimeout(timer);
        void Promise.resolve(hold).finally(() => stream.destroy());
        resolve(text);
      });
      stream.on('error', () => {});
    });
  }

  test('is made inside, in the container\'s own devpts', async (t) => {
    const spec = specWith(['sh', '-c', 'tty; readlink /proc/self/fd/1; ' +
      'stty size; stat -c %t:%T /dev/console; echo end; exec sleep 60']);
    spec.process.terminal = true;
    spec.process.consoleSize = { height: 21, width: 77 };
    const d = await background(t, spec, { stdio: ['ignore', 'ignore',
      'ignore'] });
    assert.ok(d.console !== undefined, 'the engine got the master');
    const out = await readUntil(d.console, /end\r\n/);
    assert.equal(out, '/dev/pts/0\r\n/dev/pts/0\r\n21 77\r\n' +
      '88:0\r\nend\r\n'); // /dev/console is pts 0: major 136 (0x88)
    // From the host: PID 1's stdin is a tty of another devpts than ours.
    const inside = statSync(`/proc/${d.pid}/fd/0`);
    assert.equal(inside.rdev >> 8, 136, 'a pty slave (major 136)');
    assert.notEqual(inside.dev, statSync('/dev/pts/ptmx').dev);
  });

  test('exec gets one too, next to PID 1\'s', async (t) => {
    const spec = specWith(['sleep', '60']);
    spec.process.terminal = true;
    const c = await background(t, spec);
    closeSync(c.console!);
    const e = await execInContainer(c.pid, { terminal: true,
      args: ['sh', '-c', 'tty; echo end'], env: DEFAULT_ENV, cwd: '/',
      user: { uid: 0, gid: 0 } }, { stdio: ['ignore', 'ignore', 'ignore'] });
    const exit = e.wait();
    const out = await readUntil(e.console!, /end\r\n/, exit);
    assert.equal(out, '/dev/pts/1\r\nend\r\n');
    assert.equal((await exit).code, 0);
  });
});

describe('chapter 02: exec', needsRoot, () => {
  test('joins every namespace of the running container', async (t) => {
    const c = await background(t, specWith(['sleep', '60'], [],
      { hostname: 'exec-target' }));
    const e = await execInContainer(c.pid, {
      args: ['sh', '-c', 'hostname; cat /proc/1/cmdline; echo; id -u; ' +
        'cat /proc/self/uid_map; set -- /proc/[0-9]*; echo $#; exit'],
      env: DEFAULT_ENV, cwd: '/', user: { uid: 0, gid: 0 },
    }, { stdio: ['ignore', 'pipe', 'pipe'] });
    const [out, err, status] = await Promise.all([collect(e.stdout),
      collect(e.stderr), e.wait()]);
    assert.equal(status.code, 0, err);
    const [host, cmd, uid, map, procs] = out.trim().split('\n');
    assert.equal(host, 'exec-target');
    assert.equal(cmd, 'sleep\x0060\x00');
    assert.equal(uid, '0');
    const { hostID, size } = userNsWorks ? idRange('uid')[0]
      : { hostID: 0, size: 2 ** 32 - 1 };
    assert.deepEqual(map.trim().split(/\s+/).map(Number), [0, hostID, size]);
    // The shell's own glob (a pipe's two ends may or may not overlap).
    assert.equal(procs, '2', 'sleep and sh: only the container');
  });

  test('without a mount namespace, exec lands in the chroot', async (t) => {
    const c = await background(t, specWith(['sleep', '60'], ['mount']));
    const e = await execInContainer(c.pid, {
      args: ['ls', '/'], env: DEFAULT_ENV, cwd: '/', user: { uid: 0, gid: 0 },
    }, { stdio: ['ignore', 'pipe', 'inherit'] });
    const [out] = await Promise.all([collect(e.stdout), e.wait()]);
    assert.match(out, /^linuxrc$/m);
  });

  test('a missing command fails with 127 and leaves nothing', async (t) => {
    const c = await background(t, specWith(['sleep', '60']));
    const ns = readlinkSync(`/proc/${c.pid}/ns/pid`);
    await assert.rejects(execInContainer(c.pid, {
      args: ['no-such-cmd'], env: DEFAULT_ENV, cwd: '/',
      user: { uid: 0, gid: 0 },
    }), { exitCode: 127 });
    assert.equal(pidsInNamespace(ns).length, 1);
  });
});

describe('chapter 02: nothing left behind', needsRoot, () => {
  /** A step that notes the init's pid namespace and its own release. */
  function watcher(onAttach?: (pid: number) => void) {
    const seen = { ns: '', released: 0 };
    const step: StartStep = {
      name: 'watch',
      attach(c) {
        seen.ns = readlinkSync(`/proc/${c.pid}/ns/pid`);
        onAttach?.(c.pid);
      },
      release() { seen.released++; },
    };
    return { seen, step };
  }

  async function startFails(spec: Spec, step: StartStep,
    expected: { exitCode: number; message: RegExp }): Promise<void> {
    await assert.rejects(startContainer(spec, {
      id: uniqueName('t'), steps: [step], stdio: ['ignore', 'ignore', 'pipe'],
    }), (err: Error & { exitCode: number }) => {
      assert.equal(err.exitCode, expected.exitCode, err.message);
      assert.match(err.message, expected.message);
      return true;
    });
    assert.deepEqual(leftMounts(), [], 'a mount was left');
  }

  test('the command exits: no process, no mount', async () => {
    const { seen, step } = watcher();
    const r = await run(specWith(['sh', '-c', 'sleep 60 & exit 7']),
      { steps: [step] });
    assert.equal(r.code, 7);
    assert.deepEqual(pidsInNamespace(seen.ns), []);
    assert.deepEqual(leftMounts(), []);
    assert.equal(seen.released, 1);
  });

  test('command not found: 127, nothing left', async () => {
    const { seen, step } = watcher();
    await startFails(specWith(['no-such-cmd']), step,
      { exitCode: 127, message: /no-such-cmd.*not found/ });
    assert.deepEqual(pidsInNamespace(seen.ns), []);
    assert.equal(seen.released, 1);
  });

  test('not executable: 126, nothing left', async () => {
    const { seen, step } = watcher();
    await startFails(specWith(['/etc/passwd']), step,
      { exitCode: 126, message: /\/etc\/passwd/ });
    assert.deepEqual(pidsInNamespace(seen.ns), []);
  });

  test('the init killed mid-setup: 125, nothing left', async () => {
    const { seen, step } = watcher((pid) => process.kill(pid, 'SIGKILL'));
    await startFails(specWith(['true']), step, { exitCode: 125,
      message: /container init died during setup \(killed by SIGKILL\)/ });
    assert.ok(await until(() => pidsInNamespace(seen.ns).length === 0));
    assert.equal(seen.released, 1);
  });

  test('a step fails at the barrier: 125, the init is killed', async () => {
    const { seen, step } = watcher(() => { throw new Error('no cgroup'); });
    await startFails(specWith(['true']), step,
      { exitCode: 125, message: /^start container \S+: no cgroup$/ });
    assert.deepEqual(pidsInNamespace(seen.ns), []);
    assert.equal(seen.released, 1);
  });
});

describe('chapter 02: the demo', needsRoot, () => {
  test('run.ts: flags, exit status and errors', () => {
    const rootfs = cachedRootfs();
    const noUser = userNsWorks ? [] : ['--no-user'];
    const r = demo([...noUser, '--hostname', 'demo', '--no-net',
      rootfs, 'sh', '-c', 'hostname; cat /proc/net/dev; exit 3']);
    assert.equal(r.status, 3, r.stderr);
    const [name, ...dev] = r.stdout.trim().split('\n');
    assert.equal(name, 'demo');
    const names = (lines: string[]) => lines.slice(2)
      .map((l) => l.trim().split(':')[0]).sort();
    assert.deepEqual(names(dev), names(readFileSync('/proc/net/dev', 'utf8')
      .trim().split('\n')), 'the host\'s devices with --no-net');
    const bad = demo([...noUser, rootfs, 'no-such-cmd']);
    assert.equal(bad.status, 127);
    assert.match(bad.stderr, /^skiff: .*no-such-cmd.*\n$/);
    const usage = demo(['--bogus', rootfs, 'true']);
    assert.equal(usage.status, 125);
    assert.match(usage.stderr, /^skiff: unknown option "--bogus"/);
  });
});
