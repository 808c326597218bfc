import assert from 'node:assert/strict';
import {
  existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/testing.ts';
import { buildBook } from './build.ts';
import { regionsOf } from './regions.ts';

test('the book builds: title page, preface, chapters with code and labs',
  (t) => {
    const out = tempDir(t);
    const pages = buildBook({ outDir: out });
    const names = pages.map((p) => p.slice(out.length + 1));
    assert.deepEqual(names.slice(0, 3),
      ['index.html', 'preface.html', '01-chroot.html']);
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    assert.match(index, /href="01-chroot\.html#why-chroot-is-not-a-jail"/);
    const html = readFileSync(join(out, '01-chroot.html'), 'utf8');
    assert.match(html, /export<\/span> <span class="hljs-keyword">function/);
    assert.match(html, /<span class="hljs-title function_">enterRoot/);
    assert.doesNotMatch(html, /&lt;&lt;&lt;/, 'no include line left raw');
    assert.match(html, /<a class="prev" rel="prev" href="preface\.html">/);
    assert.match(html, /<section class="lab" id="lab-pivot-root">/);
    assert.match(html, /sudo npm run lab 01-chroot\/pivot-root/);
    assert.match(html, /<figure class="code console runnable">/);
    assert.match(html, /<h2 id="why-chroot-is-not-a-jail">/);
    assert.ok(existsSync(join(out, 'style.css')));
    assert.ok(existsSync(join(out, 'src/chapters/01-chroot/chroot.ts.html')));
  });

/** A repository with one chapter, for the build's failure modes. */
function fixture(t: TestContext, files: Record<string, string>): string {
  const repo = tempDir(t);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  return repo;
}

const CODE = '// #region here\nconst x = 1;\n// #endregion\n';

test('the build fails naming the file and a missing region', (t) => {
  const repo = fixture(t, {
    'chapters/99-broken/code.ts': CODE,
    'chapters/99-broken/README.md': '# Broken\n\n<<< ./code.ts#nowhere\n',
  });
  assert.throws(() => buildBook({ repo }),
    /region "nowhere" not found in .*99-broken\/code\.ts/);
});

test('the build fails on a region no page uses, unless marked', (t) => {
  const repo = fixture(t, {
    'chapters/99-x/code.ts': CODE + '// #region later\n// #endregion\n',
    'chapters/99-x/README.md': '# X\n\n<<< ./code.ts#here\n',
    // A chapter without its text yet is not checked.
    'chapters/98-draft/code.ts': CODE,
  });
  assert.throws(() => buildBook({ repo }),
    /regions no page uses[^]*chapters\/99-x\/code\.ts:4: "later"/);
  writeFileSync(join(repo, 'chapters/99-x/code.ts'),
    CODE + '// #region later (unused)\n// #endregion\n');
  buildBook({ repo });
});

test('the build fails on a pulled line wider than 80 columns', (t) => {
  const repo = fixture(t, {
    'chapters/99-x/code.ts': `// #region wide\nconst a = 1;\n` +
      `const s = '${'x'.repeat(70)}';\n// #endregion\n`,
    'chapters/99-x/README.md': '# X\n\n<<< ./code.ts#wide\n',
  });
  assert.throws(() => buildBook({ repo }),
    /code\.ts:3: line of region "wide" is 83 columns \(max 80\)/);
});

test('the build fails on an excerpt over 40 lines, naming it', (t) => {
  const region = (name: string, n: number) => `// #region ${name}\n` +
    Array.from({ length: n }, (_, i) => `const x${i} = ${i};`).join('\n') +
    '\n// #endregion\n';
  const repo = fixture(t, {
    'chapters/99-x/code.ts': region('short', 40) + region('long', 41),
    'chapters/99-x/README.md': '# X\n\n<<< ./code.ts#short\n\n' +
      '<<< ./code.ts#long\n',
  });
  assert.throws(() => buildBook({ repo }), (err: Error) => {
    assert.match(err.message, /excerpts over 40 lines/);
    assert.match(err.message, /chapters\/99-x\/code\.ts#long: 41 lines/);
    assert.match(err.message, /\(in chapters\/99-x\/README\.md\)/);
    assert.doesNotMatch(err.message, /#short/);
    return true;
  });
  buildBook({ repo, tolerated: ['chapters/99-x/code.ts#long'] });
});

test('the build fails on broken links and missing or remote images',
  (t) => {
    const cases: [string, RegExp][] = [
      ['[next](../99-nope/README.md)',
        /link "\.\.\/99-nope\/README.md" points nowhere/],
      ['![d](../../book/diagrams/nope.svg)', /image .*nope\.svg" not found/],
      ['![d](https://example.com/d.svg)', /not a local file/],
    ];
    for (const [line, error] of cases) {
      const repo = fixture(t,
        { 'chapters/99-x/README.md': `# X\n\n${line}\n` });
      assert.throws(() => buildBook({ repo }), error);
    }
  });

test('the engine\'s part: its first page, then its chapters, with labs',
  (t) => {
    const repo = fixture(t, {
      'chapters/01-a/README.md': '# 1. A\n',
      'final/README.md':
        '# 7. Engine\n\nSee [the daemon](book/08-d/README.md).\n',
      'final/book/08-d/README.md': '# 8. D\n\n<<< ../../code.ts#here\n',
      'final/book/08-d/labs/x/README.md': '# Do x\n',
      'final/code.ts': CODE,
    });
    const out = join(repo, 'out');
    const pages = buildBook({ repo, outDir: out })
      .map((p) => p.slice(out.length + 1));
    assert.deepEqual(pages,
      ['index.html', '01-a.html', 'final.html', '08-d.html']);
    assert.match(readFileSync(join(out, 'final.html'), 'utf8'),
      /href="08-d\.html"/);
    const d = readFileSync(join(out, '08-d.html'), 'utf8');
    assert.match(d, /href="src\/final\/code\.ts\.html#region-here"/);
    assert.match(d, /<section class="lab" id="lab-x">/);
    assert.match(d, /sudo npm run lab 08-d\/x/);
  });

test('links between chapters become links between pages', (t) => {
  const repo = fixture(t, {
    'chapters/01-a/README.md': '# A\n\nSee [B](../02-b/README.md#deep).\n' +
      'And [the code](./code.ts).\n',
    'chapters/01-a/code.ts': 'export {};\n',
    'chapters/02-b/README.md':
      '# B\n\n## Deep\n\n![tree](tree.svg "A tree")\n',
    'chapters/02-b/tree.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
  });
  const out = join(repo, 'out');
  buildBook({ repo, outDir: out });
  const a = readFileSync(join(out, '01-a.html'), 'utf8');
  assert.match(a, /href="02-b\.html#deep"/);
  assert.match(a, /href="src\/chapters\/01-a\/code\.ts\.html"/);
  const b = readFileSync(join(out, '02-b.html'), 'utf8');
  assert.match(b, /<figure class="diagram"><img src="assets\/tree\.svg"/);
  assert.match(b, /<figcaption>A tree<\/figcaption>/);
  assert.ok(existsSync(join(out, 'assets/tree.svg')));
});

test('nested region markers are dropped and code is dedented', () => {
  const regions = regionsOf([
    '// #region outer', 'function f() {', '  // #region inner',
    '  return 1;', '  // #endregion', '}', '// #endregion',
  ].join('\n'));
  assert.equal(regions.get('outer'), 'function f() {\n  return 1;\n}');
  assert.equal(regions.get('inner'), 'return 1;');
});

test('every diagram is a scalable SVG with a title for screen readers',
  () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), 'diagrams');
    const svgs = readdirSync(dir).filter((f) => f.endsWith('.svg'));
    assert.ok(svgs.length >= 4, `${svgs.length} diagrams`);
    for (const svg of svgs) {
      const text = readFileSync(join(dir, svg), 'utf8');
      assert.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
        svg);
      assert.match(text, /viewBox="0 0 \d+ \d+"/, svg);
      assert.match(text, /<title[^>]*>[^<]+<\/title>/, svg);
      assert.doesNotMatch(text, /(href|src)="(https?:)?\/\//,
        `${svg} loads something from the network`);
    }
  });
