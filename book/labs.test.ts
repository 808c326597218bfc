// Every lab's grader must fail on the chapter as it is (there is work to
// do) and pass once the reference solution is applied. Each lab is graded
// in a copy of the repository, so the working tree is never patched.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { needsRoot, REPO, tempDir } from '../support/testing.ts';
import { findLabs, type LabInfo } from './labs.ts';

/** The repo's files (tracked or not, minus ignored ones) in a temp dir. */
function copyRepo(t: TestContext): string {
  const dir = tempDir(t, 'skiff-labcopy-');
  // The container's init runs from here as an unprivileged host uid.
  chmodSync(dir, 0o755);
  const files = execFileSync('git', ['ls-files', '-z', '--cached',
    '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' })
    .split('\0').filter((f) => f && existsSync(join(REPO, f)));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(REPO, file), join(dir, file));
  }
  // Shared: the packages, and what .cache/ holds under names that say
  // what went in (rootfs, compiled trampolines, images). Not the init
  // bundle: a solution that changes its sources would rebuild it in place.
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, '.cache'));
  const cache = join(REPO, '.cache');
  for (const entry of existsSync(cache) ? readdirSync(cache) : []) {
    if (entry === 'init' || entry.endsWith('.tmp')) continue;
    symlinkSync(join(cache, entry), join(dir, '.cache', entry));
  }
  return dir;
}

/** `npm run lab <lab>` in `repo`, without blocking the other tests. */
function grade(repo: string, lab: LabInfo, ...flags: string[])
  : Promise<{ status: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'book/lab.ts',
      ...flags, `${lab.chapter}/${lab.name}`], {
      cwd: repo, timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', fail);
    child.on('close', (status) => done({ status, out }));
  });
}

/**
 * Applies the reference solution. The chapters keep changing under the
 * labs: when the patch's context is gone, say which lab to rebase.
 */
function applySolution(repo: string, lab: LabInfo): void {
  const r = spawnSync('git', ['apply', '-p1', '--verbose', lab.solution],
    { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, `${relative(REPO, lab.solution)} no longer ` +
    'applies to the chapter\'s code: the code it patches changed. ' +
    `Redo the solution on the current code and regenerate the patch.\n` +
    r.stderr.trim());
}

/** Top-level names in the shared busybox rootfs: labs must not add any. */
function sharedRootfs(): string[] {
  const dir = join(REPO, '.cache/rootfs-busybox');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

const labs = findLabs(REPO);

// Each lab runs its own containers, mostly waiting on the kernel and
// on process start-up: a few at a time keep a 2-CPU machine busy.
describe('labs', { concurrency: 4 }, () => {
  const shared = sharedRootfs();
  after(() => {
    assert.deepEqual(sharedRootfs(), shared,
      'a lab wrote into the shared cached rootfs');
  });

  test('every chapter has at least two labs, each complete', () => {
    const chapters = readdirSync(join(REPO, 'chapters'))
      .filter((c) => /^\d\d-/.test(c));
    assert.ok(chapters.length >= 5, `chapters: ${chapters.join(', ')}`);
    for (const chapter of chapters) {
      const own = labs.filter((l) => l.chapter === chapter);
      assert.ok(own.length >= 2, `${chapter} has ${own.length} lab(s)`);
      for (const lab of own) {
        for (const file of [lab.grader, lab.solution]) {
          assert.ok(existsSync(file), `${relative(REPO, file)} is missing`);
        }
      }
    }
  });

  test('the solutions are kept apart, one per lab', () => {
    for (const lab of labs) {
      assert.deepEqual(readdirSync(lab.dir).filter((f) =>
        f.endsWith('.patch')), [], `${relative(REPO, lab.dir)} holds a ` +
        'patch: reference solutions go under solutions/');
    }
    const dir = join(REPO, 'solutions');
    const patches = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.patch')).map((f) => join(dir, f));
    for (const patch of patches) {
      assert.ok(labs.some((l) => l.solution === patch),
        `${relative(REPO, patch)} belongs to no lab`);
    }
  });

  test('every engine chapter has a lab, each complete', () => {
    const dir = join(REPO, 'final/book');
    const chapters = existsSync(dir)
      ? readdirSync(dir).filter((c) => /^\d\d-/.test(c)) : [];
    for (const chapter of chapters) {
      const own = labs.filter((l) => l.chapter === chapter);
      assert.ok(own.length >= 1, `final/book/${chapter} has no lab`);
      for (const lab of own) {
        assert.ok(existsSync(lab.solution),
          `${relative(REPO, lab.solution)} is missing`);
      }
    }
  });

  for (const lab of labs) {
    test(`${lab.chapter}/${lab.name}: the starting point fails, ` +
      'the solution passes', needsRoot, async (t) => {
      const repo = copyRepo(t);
      // The first missing piece is enough to know the start fails.
      const before = await grade(repo, lab, '--fail-fast');
      assert.equal(before.status, 1, before.status === 0
        ? `the chapter already does what ${lab.chapter}/${lab.name} asks ` +
          `(its code grew the feature): give the lab a new exercise\n` +
          before.out : before.out);
      assert.match(before.out, /✘/);
      applySolution(repo, lab);
      const after = await grade(repo, lab);
      assert.equal(after.status, 0, after.out);
      assert.doesNotMatch(after.out, /✘/);
      assert.match(after.out, /lab complete/);
    });
  }
});
