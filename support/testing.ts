// Helpers shared by every chapter's tests, and a check every test file
// gets by importing them: it fails the file when it leaves a cgroup.
import assert from 'node:assert/strict';
import {
  existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, type TestContext } from 'node:test';

export const isRoot = process.getuid?.() === 0;

/** Test options that skip, with the reason, when not running as root. */
export const needsRoot = isRoot ? {} : { skip: 'needs root (sudo npm test)' };

let counter = 0;
/** Every name uniqueName() gave out in this process. */
const named = new Set<string>();
/**
 * A short name unique to this process and call, safe for interface names
 * (at most 15 bytes): uniqueName('sk') -> "sk1a2b3c".
 */
export function uniqueName(prefix = 'sk'): string {
  const id = `${process.pid.toString(36)}${(counter++).toString(36)}`;
  const name = `${prefix}${id}`.slice(0, 15);
  named.add(name);
  return name;
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'skiff-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The mount points the host sees now (field 5 of mountinfo). */
export function hostMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')
    .map((line) => line.split(' ')[4]);
}

import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript file of the repo under node + tsx, as a reader would. */
export function runTs(script: string, args: string[] = [],
  opts: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(process.execPath, ['--import', 'tsx',
    resolve(REPO, script), ...args], {
    cwd: REPO, encoding: 'utf8', timeout: 60_000, ...opts,
  });
  return {
    status: r.status, signal: r.signal,
    stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''),
  };
}

/**
 * The host's cgroup hierarchies, at /sys/fs/cgroup or below it (cgroup
 * and cgroup2 mounts there, proc(5)), in the mount table's order; not
 * the mounts a test may make elsewhere.
 */
export function cgroupRoots(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')
    .map((line) => line.split(' - '))
    .filter(([, fs]) => /^cgroup2? /.test(fs ?? ''))
    .map(([fields]) => fields.split(' ')[4])
    .filter((m) => m === '/sys/fs/cgroup' || m.startsWith('/sys/fs/cgroup/'));
}

/** The directories below `dir`, parents first ([] if it is not there). */
function dirsBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [join(dir, e.name), ...dirsBelow(join(dir, e.name))]);
}

/** Is `name` a name of this process's, or one with a suffix ("-docker")? */
const ours = (name: string) => named.has(name) ||
  named.has(name.replace(/-[^-]*$/, ''));

/**
 * The cgroups a test file may leave behind, in every hierarchy: the
 * engine's default parent /skiff, which a test must not use (a host's
 * engine may), and the cgroups named by this process's uniqueName(),
 * the parents tests make for themselves and what is in them, at the
 * top or in /skiff.
 */
export function testCgroups(): string[] {
  return cgroupRoots().flatMap((root) => {
    const skiff = join(root, 'skiff');
    const mine = [root, skiff].filter((d) => existsSync(d))
      .flatMap((d) => readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory() && ours(e.name))
        .map((e) => join(d, e.name)));
    return [...existsSync(skiff) ? [skiff] : [],
      ...mine.flatMap((d) => [d, ...dirsBelow(d)])];
  });
}

/**
 * The check: a test file (this process runs one, as root) fails when it
 * ends with a cgroup above that it did not find when it started. Its
 * own parents are removed then (children first; rmdir only takes empty
 * ones), /skiff is left alone: another engine may be starting in it.
 * Registered once the test file's module has run (a microtask runs
 * after the whole module graph's code; a later tick may be too late for
 * the root test), so that it comes after the file's own top-level
 * after() hooks, which remove things.
 */
function checkCgroupsLeft(): void {
  const before = new Set(testCgroups());
  queueMicrotask(() => after(() => {
    const left = testCgroups().filter((d) => !before.has(d));
    for (const d of [...left].reverse()) {
      if (basename(d) !== 'skiff') {
        try { rmdirSync(d); } catch { /* busy: named in the failure */ }
      }
    }
    assert.deepEqual(left, [], 'cgroups this test file made and left');
  }));
}

if (isRoot && /\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  checkCgroupsLeft();
}
