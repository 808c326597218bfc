import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, test } from 'node:test';
import { needsRoot, REPO } from '../support/testing.ts';
import { findPages } from './build.ts';
import {
  checkFile, explain, forHost, hostCgroup, matches, runCommands, sessionsOf,
  toShell,
} from './sessions.ts';

describe('runnable sessions: the syntax', () => {
  test('commands, output and continued lines are read from the fence',
    () => {
      const cmds = sessionsOf('# T\n\n```console\n$ not run\n```\n\n' +
        '```console runnable\n$ echo a \\\n  b\na b\n$ true\n```\n');
      assert.deepEqual(cmds.map((c) => [c.text, c.expected, c.line]), [
        ['echo a \\\n  b', ['a b'], 8],
        ['true', [], 11],
      ]);
    });

  test('a session for one cgroup version runs only on such a host', () => {
    const cmds = sessionsOf('```console runnable\n$ a\n```\n' +
      '```console runnable cgroup=v2\n$ b\n```\n' +
      '```console runnable cgroup=v1\n$ c\n```\n');
    assert.deepEqual(cmds.map((c) => [c.text, c.cgroup]),
      [['a', undefined], ['b', 'v2'], ['c', 'v1']]);
    assert.deepEqual(forHost(cmds, 'v2').map((c) => c.text), ['a', 'b']);
    assert.deepEqual(forHost(cmds, 'v1').map((c) => c.text), ['a', 'c']);
    assert.match(hostCgroup(), /^v[12]$/);
  });

  test('sudo is dropped and npx tsx becomes node --import tsx', () => {
    assert.equal(toShell('echo x | sudo tee /f && sudo npx tsx a.ts'),
      'echo x | tee /f && node --import tsx a.ts');
  });

  test('"..." matches any lines alone, any text inside a line', () => {
    assert.ok(matches(['a', '...', 'z'], ['a', 'b', 'c', 'z']));
    assert.ok(matches(['a', '...', 'z'], ['a', 'z']));
    assert.ok(matches(['pid ... ok'], ['pid 4242 ok']));
    assert.ok(matches(['x  '], ['x', '']), 'trailing blanks ignored');
    assert.ok(!matches(['a', 'z'], ['a', 'b', 'z']));
    assert.ok(!matches(['pid ... ok'], ['pid 4242 failed']));
    assert.ok(!matches(['a.c'], ['abc']), 'no other wildcard');
  });
});

describe('runnable sessions: the text matches what the code prints',
  needsRoot, () => {
    test('a wrong expectation is caught, $? survives between commands',
      () => {
        // /tmp starts empty, but for a checkout under /tmp bound back.
        const inTmp = REPO.startsWith('/tmp/') ? 1 : 0;
        const out = runCommands(sessionsOf('```console runnable\n' +
          '$ echo hi\nho\n$ sh -c "exit 3"\n$ echo $?\n3\n' +
          `$ ls /tmp | wc -l\n${inTmp}\n\`\`\`\n`), REPO);
        assert.deepEqual(out.map((o) => o.ok), [false, true, true, true]);
        assert.deepEqual(out[0].actual, ['hi']);
      });

    // Every page of the book that marks sessions gets a test.
    const pages = findPages(REPO).map((p) => p.source)
      .filter((f) => sessionsOf(readFileSync(f, 'utf8')).length > 0);
    for (const file of pages) {
      test(relative(REPO, file), () => {
        const failed = checkFile(file, REPO).filter((o) => !o.ok);
        assert.ok(failed.length === 0,
          failed.map((o) => explain(relative(REPO, file), o)).join('\n\n'));
      });
    }
  });
