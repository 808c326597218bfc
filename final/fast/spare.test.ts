// Spare inits: made before their container, handed its stdio and mount
// trees later. What a spare's container sees must be what a fresh
// init's sees, although its mount namespace was copied from the host's
// before the rootfs and bind sources were mounted.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { hostMounts, needsRoot, uniqueName } from '../../support/testing.ts';
import { cachedRootfs } from '../../chapters/01-chroot/rootfs.ts';
import {
  collect, processState, run, specWith, until,
} from '../../chapters/02-namespaces/harness.ts';
import type { Spec } from '../../chapters/02-namespaces/spec.ts';
import {
  CLONE_NEW, startContainer, trampolineArgs,
} from '../../chapters/02-namespaces/start.ts';
import { withSecurity } from '../../chapters/06-security/defaults.ts';
import { FAST_INIT, SpareInits, spareKey } from './spare.ts';

/**
 * A tmpfs at a new directory, mounted now, unmounted after the test.
 * Shared, as on systemd hosts: a clone of it is shared too, unless the
 * init makes it private (pivot_root(2) refuses a shared new root).
 */
function freshTmpfs(t: TestContext): string {
  const dir = mkdtempSync('/tmp/skiff-spare-');
  execFileSync('mount', ['-t', 'tmpfs', 'skiff-spare-test', dir]);
  execFileSync('mount', ['--make-shared', dir]);
  t.after(() => {
    execFileSync('umount', ['-l', dir]);
    rmdirSync(dir);
  });
  return dir;
}

/** read(2)'s number, for /proc/PID/syscall (see proc(5)). */
const READ_NR: Record<string, number> = { x64: 0, arm64: 63 };

/**
 * The spare's Node is up and blocked reading its config (fd 4): the
 * syscall it sleeps in, by /proc/PID/syscall, is read(4, ...).
 */
function readingConfig(pid: number): boolean {
  try {
    const [nr, fd] = readFileSync(`/proc/${pid}/syscall`, 'utf8')
      .split(' ');
    return Number(nr) === READ_NR[process.arch] && Number(fd) === 4;
  } catch {
    return false;
  }
}

/** A pool with a spare waiting for specs like `spec`; closed after. */
async function poolFor(t: TestContext, spec: Spec, init?: string)
  : Promise<{ spares: SpareInits; pid: number }> {
  const spares = new SpareInits(init);
  t.after(() => spares.close());
  const pid = await spares.prepare(trampolineArgs(spec));
  assert.ok(pid, 'no spare for a spec of fresh namespaces');
  return { spares, pid };
}

describe('final: spare inits', needsRoot, () => {
  test('a rootfs mounted after the spare was made is its root',
    async (t) => {
      const { spares, pid } = await poolFor(t, specWith(['true'], ['user']));
      // Mounted after the spare's mount namespace was copied from ours.
      const root = freshTmpfs(t);
      cpSync(cachedRootfs(), root, { recursive: true });
      writeFileSync(join(root, 'marker'), 'on the tmpfs\n');
      const spec = specWith(['cat', '/marker'], ['user']);
      spec.root.path = root;
      let used = 0;
      const r = await run(spec, { launcher: spares.launch,
        steps: [{ name: 'pid', attach(c) { used = c.pid; } }] });
      assert.equal(used, pid, 'the container did not get the spare');
      assert.deepEqual(r, { code: 0, stdout: 'on the tmpfs\n', stderr: '' });
    });

  test('so is a bind source mounted after it', async (t) => {
    const spec = specWith(['cat', '/data/file'], ['user']);
    const { spares } = await poolFor(t, spec);
    const source = freshTmpfs(t);
    writeFileSync(join(source, 'file'), 'bound\n');
    spec.mounts.push({ destination: '/data', type: 'bind', source,
      options: ['rbind', 'ro'] });
    const r = await run(spec, { launcher: spares.launch });
    assert.deepEqual(r, { code: 0, stdout: 'bound\n', stderr: '' });
  });

  test('stdio are handed over; no other fd reaches the command',
    async (t) => {
      const spec = specWith(['sh', '-c', 'cat; ls /proc/self/fd'], ['user']);
      const { spares } = await poolFor(t, spec);
      const c = await startContainer(spec, { id: uniqueName('t'),
        launcher: spares.launch,
        stdio: ['pipe', 'pipe', 'pipe'] });
      c.stdin!.end('typed\n');
      const [out, err, status] = await Promise.all([
        collect(c.stdout), collect(c.stderr), c.wait()]);
      await c.destroy();
      // 3 is ls's own directory fd.
      assert.deepEqual({ out, err, code: status.code },
        { out: 'typed\n0\n1\n2\n3\n', err: '', code: 0 });
    });

  test('a missing bind source: 125, the spare gone, nothing left',
    async (t) => {
      const spec = specWith(['true'], ['user']);
      const { spares, pid } = await poolFor(t, spec);
      spec.mounts.push({ destination: '/data', type: 'bind',
        source: '/no/such/dir', options: ['rbind'] });
      await assert.rejects(run(spec, { launcher: spares.launch }),
        (err: Error & { exitCode: number }) => {
          assert.equal(err.exitCode, 125);
          assert.match(err.message, /bind mount source \/no\/such\/dir: ENOENT/);
          return true;
        });
      assert.ok(await until(() => processState(pid) === null),
        'the spare still runs');
      assert.deepEqual(hostMounts().filter((m) => m.includes('/no/such')),
        []);
    });

  test('a spare of the engine\'s init, warmed up, confines the command',
    async (t) => {
      const spec = withSecurity(specWith(['grep', 'Seccomp:',
        '/proc/self/status'], ['user']));
      const { spares, pid } = await poolFor(t, spec, FAST_INIT);
      // Taken before Node is up, a spare finds its config at once and
      // has no time to warm up.
      assert.ok(await until(() => readingConfig(pid), 30_000),
        'the spare never waited for its config');
      let used = 0;
      const r = await run(spec, { launcher: spares.launch, init: FAST_INIT,
        steps: [{ name: 'pid', attach(c) { used = c.pid; } }] });
      assert.equal(used, pid, 'the container did not get the spare');
      // 2: SECCOMP_MODE_FILTER (proc(5)).
      assert.deepEqual(r,
        { code: 0, stdout: 'Seccomp:\t2\n', stderr: '' });
    });

  test('a start for another init does not take the spare', async (t) => {
    const spec = specWith(['true'], ['user']);
    const { spares, pid } = await poolFor(t, spec);
    let used = 0;
    await run(spec, { launcher: spares.launch, init: FAST_INIT,
      steps: [{ name: 'pid', attach(c) { used = c.pid; } }] });
    assert.ok(used && used !== pid, 'the spare of another init was taken');
  });

  test('close() ends the waiting spare', async (t) => {
    const { spares, pid } = await poolFor(t, specWith(['true'], ['user']));
    assert.ok(processState(pid), 'the spare is not running');
    await spares.close();
    assert.equal(processState(pid), null);
  });

  test('a spare whose engine died exits by itself', async (t) => {
    const engine = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { SpareInits } = await import(${JSON.stringify(
        new URL('./spare.ts', import.meta.url).pathname)});
      const pid = await new SpareInits().prepare(['-f', '${
        CLONE_NEW.mount | CLONE_NEW.pid}']);
      console.log(pid);
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => engine.kill('SIGKILL'));
    const pid = Number((await new Promise<Buffer>((resolve) =>
      engine.stdout.once('data', resolve))).toString());
    assert.ok(processState(pid), 'no spare');
    engine.kill('SIGKILL');
    // Orphaned, it is reaped by the host's init, or left a zombie.
    assert.ok(await until(() => [null, 'Z'].includes(
      processState(pid))), `the spare still runs: ${processState(pid)}`);
  });

  test('it fits fresh namespaces with a mount one, nothing else', () => {
    const fresh = CLONE_NEW.mount | CLONE_NEW.pid;
    assert.equal(spareKey(['-f', `${fresh}`, '-B', '/x']), `${fresh}`);
    assert.equal(spareKey(['-f', `${CLONE_NEW.pid}`]), undefined);
    assert.equal(spareKey(['-j', '/proc/1/ns/net', '-f', `${fresh}`]),
      undefined);
    assert.equal(spareKey(['-U', '-f', `${fresh}`]), undefined);
  });
});
