// Helpers for this chapter's tests: host processes that wait until they
// have been put in a cgroup, CPU time read from /proc, loop devices, and
// a cgroup parent of the test file's own.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  cgroupRoots, tempDir, uniqueName,
} from '../../support/testing.ts';
import {
  createCgroup, type Cgroup, openCgroup,
} from './cgroups/manager.ts';
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

/**
 * Where this test file's cgroups and containers go: a parent of its own
 * (the engine's /skiff may be a host engine's), removed with the last
 * cgroup in it.
 */
export const TEST_PARENT = `/${uniqueName('skiff-t3')}`;

/** Removes TEST_PARENT where it is empty, in every hierarchy. */
export function dropTestParent(): void {
  for (const root of cgroupRoots()) {
    try { rmdirSync(join(root, TEST_PARENT)); } catch { /* busy, none */ }
  }
}

/** Removes the parent of `cg` once no other cgroup is left in it. */
function dropParent(cg: Cgroup): void {
  for (const d of cg.dirs) {
    try { rmdirSync(dirname(d)); } catch { /* busy, or not ours */ }
  }
}

/** A cgroup (by default in TEST_PARENT), destroyed after the test. */
export async function testCgroup(t: TestContext, r: LinuxResources = {},
  path = `${TEST_PARENT}/${uniqueName('t')}`): Promise<Cgroup> {
  const cg = await createCgroup(path, r);
  t.after(async () => {
    await cg.destroy();
    dropParent(cg);
  });
  return cg;
}

/** Removes a cgroup and the cgroups in it (their processes killed). */
export async function dropCgroups(path: string): Promise<void> {
  let top: Cgroup;
  try {
    top = openCgroup(path);
  } catch {
    return; // none was made
  }
  const children = new Set(top.dirs.filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d, { withFileTypes: true }))
    .filter((e) => e.isDirectory()).map((e) => e.name));
  for (const child of children) {
    await openCgroup(`${path}/${child}`).destroy();
  }
  await top.destroy();
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
  /** Its exit, once all it wrote has been read (after the exit). */
  wait(): ReturnType<Container['wait']>;
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
  const step = cgroupStep({ parent: TEST_PARENT });
  const container = await startContainer(spec, { id: uniqueName('c'),
    steps: [step], stdio: ['ignore', 'pipe', 'pipe'] });
  const cgroup = step.cgroup!;
  t.after(async () => {
    await container.destroy();
    dropParent(cgroup);
  });
  let out = '';
  let err = '';
  container.stdout?.on('data', (d) => { out += d; });
  container.stderr?.on('data', (d) => { err += d; });
  const read = Promise.all([container.stdout, container.stderr].map((s) =>
    s && new Promise((res) => s.on('end', res))));
  return { container, cgroup, stdout: () => out,
    stderr: () => err,
    wait: async () => {
      const status = await container.wait();
      await read;
      return status;
    } };
}
