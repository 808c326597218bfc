// Helpers for this chapter's tests: run a container, collect its output,
// and look at it from the host.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync,
  readlinkSync, rmdirSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { cachedRootfs } from '../01-chroot/rootfs.ts';
import { tempDir, uniqueName } from '../../support/testing.ts';
import { compileStatic } from './build.ts';
import { ALL_NAMESPACES, defaultSpec, type SpecChoices } from './defaults.ts';
import { procStat } from './procfs.ts';
import type { NamespaceType, Spec } from './spec.ts';
import { type Container, startContainer, type StartOptions } from './start.ts';

/**
 * Can this machine make a user namespace? Not from inside a chroot
 * (unshare(2): EPERM), and ../shared/tools/vm-run runs its command in
 * one. There the other namespaces are tested without it, and the user
 * namespace's own tests skip.
 */
export const userNsWorks =
  spawnSync('unshare', ['--user', 'true']).status === 0;
export const needsUserNs = userNsWorks ? {}
  : { skip: 'user namespaces refused here (unshare --user: EPERM)' };

/** A spec for the shared busybox rootfs with some namespaces off. */
export function specWith(args: string[], off: NamespaceType[] = [],
  more: Partial<SpecChoices> = {}): Spec {
  const skip: NamespaceType[] = userNsWorks ? off : [...off, 'user'];
  return defaultSpec({
    rootfs: cachedRootfs(), args,
    namespaces: ALL_NAMESPACES.filter((ns) => !skip.includes(ns)), ...more,
  });
}

export function collect(stream: Readable | null): Promise<string> {
  if (!stream) return Promise.resolve('');
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (d) => { text += d; });
    stream.on('close', () => resolve(text));
  });
}

export interface Output { code: number; stdout: string; stderr: string }

/** Runs a container to its end and returns what it printed. */
export async function run(spec: Spec,
  opts: Partial<StartOptions> = {}): Promise<Output> {
  const c = await startContainer(spec, {
    id: uniqueName('t'), stdio: ['ignore', 'pipe', 'pipe'], ...opts,
  });
  const [stdout, stderr, status] = await Promise.all([
    collect(c.stdout), collect(c.stderr), c.wait()]);
  await c.destroy();
  return { code: status.code, stdout, stderr };
}

/** Starts a container that runs until the test ends. */
export async function background(t: TestContext, spec: Spec,
  opts: Partial<StartOptions> = {}): Promise<Container> {
  const c = await startContainer(spec, {
    id: uniqueName('t'), stdio: ['ignore', 'pipe', 'pipe'], ...opts,
  });
  t.after(() => c.destroy());
  return c;
}

/** Host pids of the processes in the pid namespace `nsLink`. */
export function pidsInNamespace(nsLink: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === nsLink) {
        pids.push(Number(name));
      }
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

/** The state letter of a process (R, S, Z, ...), or null once gone. */
export function processState(pid: number): string | null {
  return procStat(pid)?.state ?? null;
}

export async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/**
 * A private copy of the busybox rootfs, which tests may change (the
 * shared one is read-only), with mount points made for `paths`: root
 * in a user namespace cannot create them in a rootfs root owns.
 */
export function privateRootfs(t: TestContext, paths: string[] = []): string {
  const parent = tempDir(t, 'skiff-02-');
  chmodSync(parent, 0o755); // for root of a user namespace to reach it
  const dir = join(parent, 'rootfs');
  cpSync(cachedRootfs(), dir, { recursive: true, verbatimSymlinks: true });
  for (const p of paths) {
    if (p.endsWith('/')) mkdirSync(join(dir, p), { recursive: true });
    else writeFileSync(join(dir, p), '');
  }
  return dir;
}

/** A private rootfs with chapter 01's escape, in C, at /escape. */
export function rootfsWithEscape(t: TestContext): string {
  const dir = privateRootfs(t);
  cpSync(compileStatic('escape.c'), join(dir, 'escape'));
  return dir;
}

/** A cgroup of our own, in v2 or else in v1's pids hierarchy. */
export function makeCgroup(t: TestContext): { procs: string; name: string } {
  const name = uniqueName('sk02cg');
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const dir = v2 ? `/sys/fs/cgroup/${name}` : `/sys/fs/cgroup/pids/${name}`;
  mkdirSync(dir);
  t.after(async () => {
    await until(() => readFileSync(join(dir, 'cgroup.procs'), 'utf8') === '');
    rmdirSync(dir);
  });
  return { procs: join(dir, 'cgroup.procs'), name };
}

export function joinCgroup(procs: string, pid: number): void {
  writeFileSync(procs, String(pid));
}

/** Runs a host command and returns its stdout. */
export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}
