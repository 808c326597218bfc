import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../support/testing.ts';
import { buildBook } from './build.ts';
import { regionsOf } from './regions.ts';

test('the book renders chapter 01 with its code pulled in', (t) => {
  const out = tempDir(t);
  const pages = buildBook({ outDir: out });
  const page = pages.find((p) => p.endsWith('01-chroot.html'));
  assert.ok(page, 'chapter 01 page was written');
  const html = readFileSync(page, 'utf8');
  assert.match(html, /export function enterRoot/);
  assert.doesNotMatch(html, /&lt;&lt;&lt;/, 'no include line left raw');
});

test('the build fails naming the file and a missing region', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, '99-broken'));
  writeFileSync(join(dir, '99-broken/code.ts'), '// #region here\nx\n' +
    '// #endregion\n');
  writeFileSync(join(dir, '99-broken/README.md'),
    '# Broken\n\n<<< ./code.ts#nowhere\n');
  assert.throws(() => buildBook({ chaptersDir: dir, outDir: join(dir, 'o') }),
    /region "nowhere" not found in .*99-broken\/code\.ts/);
});

test('nested region markers are dropped and code is dedented', () => {
  const regions = regionsOf([
    '// #region outer', 'function f() {', '  // #region inner',
    '  return 1;', '  // #endregion', '}', '// #endregion',
  ].join('\n'));
  assert.equal(regions.get('outer'), 'function f() {\n  return 1;\n}');
  assert.equal(regions.get('inner'), 'return 1;');
});
