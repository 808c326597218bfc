// Labs: exercises that grade themselves.
//
// Each chapter keeps its labs next to its code, one folder per lab:
//
//   chapters/01-chroot/labs/pivot-root/
//     README.md        the exercise (rendered at the end of the chapter)
//     grader.ts        `export default defineLab({ title, checks })`
//
// The reference solutions live apart, out of the reader's way, one
// `git diff` of the repo per lab: solutions/01-chroot/pivot-root.patch.
//
// The engine's chapters keep theirs the same way, in
// final/book/NN-name/labs/, and so do the engine's pages that live
// with their code (final/build/labs/: `npm run lab build/add-url`).
//
// `sudo npm run lab 01-chroot` grades every lab of the chapter against the
// reader's working tree; `sudo npm run lab 01-chroot/pivot-root` grades
// one. Checks look at what the host can observe, the way the chapter's
// tests do, and each failing check says what is missing.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync,
  realpathSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cachedRootfs } from '../chapters/01-chroot/rootfs.ts';
import { dropCgroups } from '../chapters/03-cgroups/testing.ts';

export interface LabInfo {
  /** Chapter folder name, e.g. "01-chroot" or "08-daemon". */
  chapter: string;
  /** Lab folder name, e.g. "pivot-root". */
  name: string;
  dir: string;
  readme: string;
  grader: string;
  /** solutions/<chapter>/<name>.patch, kept out of the chapter. */
  solution: string;
}

/**
 * Where chapters live: the mechanisms', the engine's, then the engine's
 * pages kept next to their code (final/build/README.md).
 */
const CHAPTER_DIRS = ['chapters', 'final/book', 'final'];

/** The labs of a repo, in chapter order; `filter` is "01-chroot[/lab]". */
export function findLabs(repo: string, filter = ''): LabInfo[] {
  const [wantChapter, wantLab] = filter.split('/');
  const labs: LabInfo[] = [];
  const chapters = CHAPTER_DIRS.map((d) => join(repo, d))
    .filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).sort().map((c) => [d, c]));
  for (const [chaptersDir, chapter] of chapters) {
    if (wantChapter && chapter !== wantChapter &&
      !chapter.startsWith(`${wantChapter}-`)) continue;
    const labsDir = join(chaptersDir, chapter, 'labs');
    if (!existsSync(labsDir)) continue;
    for (const name of readdirSync(labsDir).sort()) {
      if (wantLab && name !== wantLab) continue;
      const dir = join(labsDir, name);
      if (!existsSync(join(dir, 'README.md'))) continue;
      labs.push({
        chapter, name, dir,
        readme: join(dir, 'README.md'),
        grader: join(dir, 'grader.ts'),
        solution: join(repo, 'solutions', chapter, `${name}.patch`),
      });
    }
  }
  return labs;
}

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// #region lab-context
/** What a check gets: the checkout under grading and scratch space. */
export interface LabContext {
  /** Root of the working tree being graded. */
  readonly repo: string;
  /** A copy of the busybox rootfs for this lab, removed after it. */
  rootfs(): string;
  /**
   * The demos' arguments for rootfs() as an image, imported on the
   * first call (fill rootfs() before): `--root STORE busybox`.
   */
  image(): string[];
  /** An empty directory, removed after the lab. */
  tempDir(): string;
  /** Runs a file of the repo as `sudo npx tsx <file> <args>` would. */
  run(file: string, args: string[], env?: Record<string, string>): Ran;
  /** Starts it without waiting, stdio piped; killed after the lab. */
  start(file: string, args: string[], env?: Record<string, string>)
    : ChildProcess;
  /** A name no other lab or test run uses: "lab1a2b3". */
  unique(prefix?: string): string;
  cgroupParent: string; // the lab's own (--cgroup-parent), removed after
  cleanup(undo: () => void): void; // run after the checks, pass or fail
}

export interface Check {
  /** What the check expects, as a sentence: "the escape demo fails". */
  name: string;
  /** Throws (e.g. with node:assert) saying what is missing. */
  check(ctx: LabContext): void | Promise<void>;
}

export interface Lab {
  title: string;
  checks: Check[];
}

/** What grader.ts exports by default. */
export function defineLab(lab: Lab): Lab {
  return lab;
}
// #endregion

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why it failed: the first lines of the error. */
  reason?: string;
}

let counter = 0;

/** Runs every check of a lab against `repo`, cleaning up after. */
export async function gradeLab(lab: Lab, repo: string,
  opts: { failFast?: boolean } = {},
  report: (r: CheckResult) => void = () => {}): Promise<CheckResult[]> {
  const scratch: string[] = [];
  const started: ChildProcess[] = [];
  const undos: (() => void)[] = [];
  let rootfs: string | undefined;
  let image: string[] | undefined;
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-lab-'));
    scratch.push(dir);
    // Container root is an unprivileged uid on the host (user namespace,
    // chapter 2): it must be able to reach a rootfs kept in here.
    chmodSync(dir, 0o755);
    return dir;
  };
  const copy = () => {
    if (rootfs) return rootfs;
    rootfs = join(tempDir(), 'rootfs');
    // The cache may be a symbolic link (the labs test shares it): copy
    // what it points to, never the link, or the lab writes into it.
    cpSync(realpathSync(cachedRootfs()), rootfs,
      { recursive: true, verbatimSymlinks: true });
    return rootfs;
  };
  const unique = (prefix = 'lab') =>
    `${prefix}${process.pid.toString(36)}${(counter++).toString(36)}`;
  const ctx: LabContext = {
    repo,
    tempDir,
    rootfs: copy,
    image() {
      if (image) return image;
      const dir = tempDir();
      const tar = join(dir, 'busybox.tar');
      const t = spawnSync('tar', ['--numeric-owner', '-C', copy(), '-cf',
        tar, '.'], { encoding: 'utf8' });
      if (t.status !== 0) throw new Error(`tar: ${t.stderr}`);
      const store = join(dir, 'store');
      const r = runTsIn(repo, 'chapters/04-aufs-overlay/demo.ts',
        ['--root', store, 'import', tar, 'busybox'], {});
      if (r.status !== 0) {
        throw new Error(`demo.ts import: ${r.stderr.trim()}`);
      }
      image = ['--root', store, 'busybox'];
      return image;
    },
    run: (file, args, env = {}) => runTsIn(repo, file, args, env),
    start(file, args, env = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx',
        resolve(repo, file), ...args], { cwd: repo,
        env: { ...process.env, ...env, NO_COLOR: '1' } });
      started.push(child);
      return child;
    },
    unique,
    cgroupParent: `/${unique('skiff-lab')}`,
    cleanup: (undo) => { undos.push(undo); },
  };
  const results: CheckResult[] = [];
  try {
    for (const check of lab.checks) {
      const result = await runCheck(check, ctx);
      report(result);
      results.push(result);
      if (!result.ok && opts.failFast) break;
    }
  } finally {
    for (const child of started) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    for (const undo of undos.reverse()) {
      try {
        undo();
      } catch { /* the rest must still go */ }
    }
    await dropCgroups(ctx.cgroupParent);
    for (const dir of scratch) {
      // A half-done solution may leave a mount in there: never delete
      // through one.
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

/** Lazily unmounts whatever is mounted at or below `dir`. */
function unmountUnder(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  for (const p of points.reverse()) {
    spawnSync('umount', ['--lazy', p], { stdio: 'ignore' });
  }
}

async function runCheck(check: Check, ctx: LabContext): Promise<CheckResult> {
  try {
    await check.check(ctx);
    return { name: check.name, ok: true };
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    // node:assert appends its own diff to a custom message: drop it.
    if ((err as { generatedMessage?: boolean }).generatedMessage === false) {
      message = message.split(/\n(?:\n|\+ actual)/)[0];
    }
    const reason = message.split('\n').filter((l) => l.trim()).slice(0, 4)
      .join('\n');
    return { name: check.name, ok: false, reason };
  }
}

/** `sudo npx tsx file args`, minus npx's second of start-up. */
export function runTsIn(repo: string, file: string, args: string[],
  env: Record<string, string> = {}): Ran {
  const r = spawnSync(process.execPath, ['--import', 'tsx',
    resolve(repo, file), ...args], {
    // Generous: a reader's VM may be slow, and only a hang should end it.
    cwd: repo, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, ...env, NO_COLOR: '1' },
  });
  return {
    status: r.status, signal: r.signal,
    stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''),
  };
}

/** Title of a lab from its README's first heading. */
export function labTitle(info: LabInfo): string {
  const text = readFileSync(info.readme, 'utf8');
  return /^#\s+(.*)$/m.exec(text)?.[1] ?? info.name;
}

/** How a run ended, for a check's message: `exit 125: skiff: ...`. */
/**
 * Runs chapter 01's escape demo against a file of the host's made for
 * the check (removed after): the demo must not print what it holds.
 * Returns the run for the lab's own checks.
 */
export function escapeAttempt(ctx: LabContext): Ran {
  const marker = `/${ctx.unique('skiff-lab-')}`;
  writeFileSync(marker, 'host secret\n');
  try {
    const r = ctx.run('chapters/01-chroot/escape.ts', [ctx.rootfs(), marker]);
    assert.doesNotMatch(r.stdout, /host secret/,
      `escape.ts read ${marker} on the host`);
    return r;
  } finally {
    rmSync(marker, { force: true });
  }
}

export function outcome(r: Ran): string {
  const how = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  const err = r.stderr.trim().split('\n').slice(0, 2).join(' / ');
  return err ? `${how}, stderr: ${err}` : how;
}
