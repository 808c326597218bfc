// Every link and every anchor of the built site resolves, and nothing is
// fetched from the network.
import assert from 'node:assert/strict';
import {
  existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../support/testing.ts';
import { buildBook } from './build.ts';

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.html')).map((f) => join(dir, f));
}

const ids = new Map<string, Set<string>>();
function idsOf(file: string): Set<string> {
  if (!ids.has(file)) {
    const html = readFileSync(file, 'utf8');
    ids.set(file, new Set([...html.matchAll(/\sid="([^"]+)"/g)]
      .map((m) => m[1])));
  }
  return ids.get(file)!;
}

/** [attribute, value] of every href and src in a page. */
function references(html: string): [string, string][] {
  return [...html.matchAll(/\s(href|src)="([^"]*)"/g)]
    .map((m) => [m[1], m[2].replace(/&amp;/g, '&')]);
}

describe('the built site', () => {
  let out: string;
  before(() => {
    out = mkdtempSync(join(tmpdir(), 'skiff-book-'));
    buildBook({ outDir: out });
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  test('every internal link and anchor resolves', () => {
    const broken: string[] = [];
    const files = htmlFiles(out);
    assert.ok(files.length >= 4, `only ${files.length} pages`);
    for (const file of files) {
      for (const [, ref] of references(readFileSync(file, 'utf8'))) {
        if (/^(https?:|mailto:|data:)/.test(ref)) continue;
        const [path, fragment] = ref.split('#');
        const target = path ? resolve(dirname(file), decodeURI(path)) : file;
        const where = `${relative(out, file)}: ${ref}`;
        if (!existsSync(target) || !statSync(target).isFile()) {
          broken.push(`${where} (no such file)`);
        } else if (fragment && target.endsWith('.html') &&
          !idsOf(target).has(decodeURIComponent(fragment))) {
          broken.push(`${where} (no such anchor)`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  test('no page loads anything from the network', () => {
    for (const file of htmlFiles(out)) {
      const html = readFileSync(file, 'utf8');
      assert.doesNotMatch(html, /<script/i, relative(out, file));
      const loads = [...html.matchAll(/<link[^>]*\shref="([^"]*)"/g),
        ...html.matchAll(/\ssrc="([^"]*)"/g)].map((m) => m[1]);
      for (const ref of loads) {
        assert.doesNotMatch(ref, /^(https?:)?\/\//,
          `${relative(out, file)} loads ${ref}`);
      }
    }
    const css = readFileSync(join(out, 'style.css'), 'utf8');
    assert.doesNotMatch(css, /url\(|@import/, 'style.css fetches something');
  });

  test('previous and next chain the pages in reading order', () => {
    const order: string[] = [];
    let page: string | undefined = 'preface.html';
    while (page && !order.includes(page)) {
      order.push(page);
      const html: string = readFileSync(join(out, page), 'utf8');
      page = /<a class="next" rel="next" href="([^"]+)"/.exec(html)?.[1];
    }
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    const toc = [...index.matchAll(/<li><a href="([^"#]+)">/g)]
      .map((m) => m[1]);
    assert.deepEqual(order, toc);
    assert.equal(order[0], 'preface.html');
    assert.ok(order.includes('01-chroot.html'));
    // The engine's part closes the book: its first page, its chapters
    // (final/book/NN-*/), then the pages of final/'s folders (fast,
    // build), once their text exists.
    if (existsSync(join(REPO, 'final/README.md'))) {
      const engine = existsSync(join(REPO, 'final/book'))
        ? readdirSync(join(REPO, 'final/book'))
          .filter((d) => /^\d\d-/.test(d)).sort() : [];
      const folders = ['fast', 'build'].filter((d) =>
        existsSync(join(REPO, 'final', d, 'README.md')))
        .map((d) => `final-${d}.html`);
      assert.deepEqual(order.slice(order.indexOf('final.html')),
        ['final.html', ...engine.map((d) => `${d}.html`), ...folders]);
    }
  });
});
