// Helpers shared by every chapter's tests.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const isRoot = process.getuid?.() === 0;

/** Test options that skip, with the reason, when not running as root. */
export const needsRoot = isRoot ? {} : { skip: 'needs root (sudo npm test)' };

let counter = 0;
/**
 * A short name unique to this process and call, safe for interface names
 * (at most 15 bytes): uniqueName('sk') -> "sk1a2b3c".
 */
export function uniqueName(prefix = 'sk'): string {
  const id = `${process.pid.toString(36)}${(counter++).toString(36)}`;
  return `${prefix}${id}`.slice(0, 15);
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
