// Helpers for this chapter's tests: host processes that wait until they
// have been put in a cgroup, CPU time read from /proc, loop devices.
import { execFileSync, spawn } from 'node:child_process';
import { rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir, uniqueName } from '../../support/testing.ts';
import { createCgroup, type Cgroup } from './cgroups/manager.ts';
import type { LinuxResources } from '../02-namespaces/spec.ts';
import { cachedRootfs } from '../01-chroot/rootfs.ts';
import { ALL_NAMESPACES, defaultSpec } from '../02-namespaces/defaults.ts';
import { procStat, USER_HZ } from '../02-namespaces/procfs.ts';
import { startContainer, type Container } from '../02-namespaces/start.ts';
import { cgroupStep } from './step.ts';

export interface Held {
  pid: number;
  /** Lets the script run (after it was added to a cgroup). */
  release(): void;
  /** Resolves when stdout has printed a line matching `re`. */
  printed(re: RegExp): Promise<void>;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `sh -c script`, held at a `read` until release() is called. */
export function holdScript(t: TestContext, script: string): Held {
  const child = spawn('sh', ['-c', `read _ || exit 99\n${script}`],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d) => {
    out += d;
    waiters.splice(0).forEach((w) => w());
  });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise<{ code: number | null;
    signal: NodeJS.Signals | null }>((res) => child.on('exit',
    (code, signal) => res({ code, signal })));
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return {
    pid: child.pid!,
    release: () => child.stdin.write('\n'),
    printed: (re) => new Promise<void>((res, rej) => {
      const check = () => {
        if (re.test(out)) res();
        else if (child.exitCode !== null || child.signalCode !== null) {
          rej(new Error(`exited before printing ${re}: ${out}${err}`));
        } else waiters.push(check);
      };
      child.on('exit', () => setTimeout(check, 50));
      check();
    }),
    stdout: () => out,
    stderr: () => err,
    exited,
  };
}

/** A cgroup (by default under /skiff), destroyed after the test. */
export async function testCgroup(t: TestContext, r: LinuxResources = {},
  path = `/skiff/${uniqueName('t')}`): Promise<Cgroup> {
  const cg = await createCgroup(path, r);
  t.after(async () => {
    await cg.destroy();
    // The /skiff parent too, once no other cgroup is left in it.
    for (const d of cg.dirs) {
      try { rmdirSync(dirname(d)); } catch { /* busy, or not ours */ }
    }
  });
  return cg;
}

/** A held script already inside a new cgroup, and running. */
export async function runIn(t: TestContext, r: LinuxResources,
  script: string, path?: string): Promise<{ cg: Cgroup; p: Held }> {
  const cg = await testCgroup(t, r, path);
  const p = holdScript(t, script);
  cg.addProcess(p.pid);
  p.release();
  return { cg, p };
}

// #region cpu-seconds
/** utime + stime of a process, in seconds (proc(5), fields 14 and 15). */
export function cpuSeconds(pid: number): number {
  const stat = procStat(pid);
  if (!stat) throw new Error(`cpu time of ${pid}: no such process`);
  return (stat.utime + stat.stime) / USER_HZ;
}
// #endregion

export const sleep = (ms: number) =>
  new Promise<void>((res) => setTimeout(res, ms));

/** CPU seconds per wall second `pid` gets over `ms`. */
export async function cpuRate(pid: number, ms: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(ms);
  return (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
}

/** A file-backed loop device of `mb` MiB, detached after the test. */
export function loopDevice(t: TestContext, mb = 16): string {
  const file = join(tempDir(t, 'skiff-loop-'), 'disk.img');
  writeFileSync(file, Buffer.alloc(mb * 2 ** 20));
  const dev = execFileSync('losetup', ['--find', '--show', file],
    { encoding: 'utf8' }).trim();
  t.after(() => execFileSync('losetup', ['-d', dev]));
  return dev;
}

/** Waits until the container printed `text` (generous: VMs are slow). */
export async function waitPrinted(c: TestContainer, text: string,
  ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!c.stdout().includes(text)) {
    if (Date.now() > deadline) {
      throw new Error(`no "${text}" in ${ms} ms: ${c.stdout()}${c.stderr()}`);
    }
    await sleep(50);
  }
}

/** A started container with its cgroup and collected output. */
export interface TestContainer {
  container: Container;
  cgroup: Cgroup;
  stdout(): string;
  stderr(): string;
}

/**
 * Starts `args` in a busybox container (every namespace but user, as
 * Docker does) with `resources`, through chapter 02's startContainer
 * and this chapter's cgroup step. Destroyed after the test.
 */
export async function startIn(t: TestContext, resources: LinuxResources,
  args: string[]): Promise<TestContainer> {
  const spec = defaultSpec({ rootfs: cachedRootfs(), args,
    namespaces: ALL_NAMESPACES.filter((ns) => ns !== 'user') });
  spec.linux.resources = resources;
  const step = cgroupStep();
  const container = await startContainer(spec, { id: uniqueName('c'),
    steps: [step], stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => container.destroy());
  let out = '';
  let err = '';
  container.stdout?.on('data', (d) => { out += d; });
  container.stderr?.on('data', (d) => { err += d; });
  return { container, cgroup: step.cgroup!, stdout: () => out,
    stderr: () => err };
}
