// COPY's rules on real directories: a context and a container root
// made in a temp dir, the root holding an image's hostile symlinks.
import assert from 'node:assert/strict';
import {
  existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync,
  readlinkSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { copyInto, type CopyTarget, sources } from './copy.ts';
import { parseIgnore } from './ignore.ts';

let dir = '';
let ctx = '';
let root = '';
const none = parseIgnore('');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-copy-'));
  ctx = join(dir, 'ctx');
  root = join(dir, 'root');
  mkdirSync(join(ctx, 'src/sub'), { recursive: true });
  writeFileSync(join(ctx, 'a.txt'), 'a\n');
  writeFileSync(join(ctx, 'b.txt'), 'b\n', { mode: 0o600 });
  writeFileSync(join(ctx, 'src/sub/c.js'), 'c\n');
  writeFileSync(join(ctx, 'src/skip.log'), 'log\n');
  symlinkSync('a.txt', join(ctx, 'link'));
  symlinkSync('../../etc/passwd', join(ctx, 'out'));
  mkdirSync(join(root, 'etc'), { recursive: true });
  // The host's /etc if followed; the test checks nothing lands there.
  symlinkSync('/etc', join(root, 'evil'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

const target = (dest: string, more: Partial<CopyTarget> = {})
  : CopyTarget => ({ root, dest, workdir: '/', uid: process.getuid!(),
  gid: process.getgid!(), ...more });

test('wildcards match per component; ignored files do not exist', () => {
  assert.deepEqual(sources(ctx, '*.txt', none), ['a.txt', 'b.txt']);
  assert.deepEqual(sources(ctx, 'src/*/c.?s', none), ['src/sub/c.js']);
  assert.throws(() => sources(ctx, 'a.txt', parseIgnore('*.txt')),
    /file not found in build context or excluded by \.dockerignore/);
  assert.throws(() => sources(ctx, '../x', none), /outside the build/);
  assert.throws(() => sources(ctx, 'out', none), /outside the build/);
  assert.deepEqual(sources(ctx, 'link', none), ['link']);
});

test('a file to a dir/, to a new name, several to a dir', () => {
  copyInto(ctx, ['a.txt'], target('/d1/'), none);
  assert.equal(readFileSync(join(root, 'd1/a.txt'), 'utf8'), 'a\n');
  copyInto(ctx, ['a.txt'], target('/d2/renamed'), none);
  assert.equal(readFileSync(join(root, 'd2/renamed'), 'utf8'), 'a\n');
  assert.throws(() => copyInto(ctx, ['a.txt', 'b.txt'], target('/d3'),
    none), /the destination must be a directory and end with a \//);
  copyInto(ctx, ['a.txt', 'b.txt'], target('rel/', { workdir: '/w' }),
    none);
  assert.equal(lstatSync(join(root, 'w/rel/b.txt')).mode & 0o777, 0o600);
});

test('a directory copies its contents; --chmod; symlinks as links', () => {
  copyInto(ctx, ['src'], target('/app', { mode: 0o640 }),
    parseIgnore('**/*.log'));
  assert.equal(readFileSync(join(root, 'app/sub/c.js'), 'utf8'), 'c\n');
  assert.equal(existsSync(join(root, 'app/skip.log')), false);
  assert.equal(lstatSync(join(root, 'app/sub/c.js')).mode & 0o777, 0o640);
  copyInto(ctx, ['link'], target('/l/'), none);
  assert.equal(readlinkSync(join(root, 'l/link')), 'a.txt');
});

test('the image\'s symlinks lead inside its root, not the host\'s', () => {
  copyInto(ctx, ['a.txt'], target('/evil/planted'), none);
  assert.equal(readFileSync(join(root, 'etc/planted'), 'utf8'), 'a\n');
  assert.equal(existsSync('/etc/planted'), false);
  // A symlink where a file goes, aimed at a file outside the root (the
  // test's own, so that a regression writes nothing of the host's).
  writeFileSync(join(dir, 'outside'), 'untouched\n');
  symlinkSync(join(dir, 'outside'), join(root, 'd1/swap'));
  copyInto(ctx, ['b.txt'], target('/d1/swap'), none);
  assert.equal(lstatSync(join(root, 'd1/swap')).isFile(), true);
  assert.equal(readFileSync(join(dir, 'outside'), 'utf8'), 'untouched\n');
});
