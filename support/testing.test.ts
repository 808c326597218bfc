// The check every test file gets from support/testing.ts: a file that
// leaves a cgroup it made fails, naming it, and its own is removed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { needsRoot, REPO, tempDir } from './testing.ts';

/** Runs a test file that makes a cgroup; what it printed, where it was. */
function runMaking(t: TestContext, removes: boolean)
  : { status: number | null; out: string; dir: string } {
  const tmp = tempDir(t);
  const file = join(tmp, 'makes.test.ts');
  const where = join(tmp, 'where');
  writeFileSync(file, [
    "import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';",
    "import { join } from 'node:path';",
    "import { test } from 'node:test';",
    'import { cgroupRoots, uniqueName } from ' +
      `${JSON.stringify(join(REPO, 'support/testing.ts'))};`,
    "test('makes a cgroup of its own', () => {",
    "  const dir = join(cgroupRoots()[0], uniqueName('sk-left'));",
    '  mkdirSync(dir);',
    `  writeFileSync(${JSON.stringify(where)}, dir);`,
    removes ? '  rmdirSync(dir);' : '',
    '});', ''].join('\n'));
  // As a file of its own: not a child of this runner (NODE_TEST_CONTEXT).
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', file],
    { cwd: REPO, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout + r.stderr,
    dir: readFileSync(where, 'utf8') };
}

describe('support: a test file leaving a cgroup fails', needsRoot, () => {
  test('it fails naming the cgroup, which is removed', (t) => {
    const r = runMaking(t, false);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /cgroups this test file made and left/);
    assert.ok(r.out.includes(r.dir), r.out);
    assert.ok(!existsSync(r.dir), `${r.dir} is still there`);
  });

  test('one that removes what it made passes', (t) => {
    const r = runMaking(t, true);
    assert.equal(r.status, 0, r.out);
    assert.ok(!existsSync(r.dir));
  });
});
