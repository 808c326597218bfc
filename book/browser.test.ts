// The site in a real browser: Debian's chromium, headless. Screenshots
// are kept in .cache/book-screenshots/ for a human to look at.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { REPO, tempDir } from '../support/testing.ts';
import { Browser, CHROMIUM, type Viewport } from './browser.ts';
import { buildBook, findPages } from './build.ts';
import { decodePng, inkRatio } from './png.ts';

const SHOTS = join(REPO, '.cache/book-screenshots');
const LAPTOP: Viewport = { width: 1280, height: 800 };
const PHONE: Viewport = { width: 390, height: 844, mobile: true };

const skip = existsSync(CHROMIUM) ? {}
  : { skip: 'chromium is not installed (sudo npm run setup)' };

describe('the book in headless Chromium', skip, () => {
  let browser: Browser;
  let out: string;
  before(() => {
    browser = Browser.launch();
  });
  after(() => browser?.close());

  // The contents and a chapter on a laptop; every page on a phone.
  const pages: [string, string, Viewport][] = [
    ['index.html', 'contents', LAPTOP],
    ['01-chroot.html#calling-the-kernel-from-typescript', 'chapter-01',
      LAPTOP],
    ['index.html', 'contents-phone', PHONE],
    ...findPages(REPO).map((p): [string, string, Viewport] =>
      [`${p.id}.html`, `${p.id}-phone`, PHONE]),
  ];
  for (const [page, name, viewport] of pages) {
    test(`${page} at ${viewport.width}px: no errors, no network, ` +
      'not blank', async (t) => {
      out ??= tempDir(t, 'skiff-site-');
      if (!existsSync(join(out, 'index.html'))) buildBook({ outDir: out });
      const [file, hash] = page.split('#');
      const url = pathToFileURL(join(out, file)).href +
        (hash ? `#${hash}` : '');
      const visit = await browser.visit(url, viewport);
      mkdirSync(SHOTS, { recursive: true });
      writeFileSync(join(SHOTS, `${name}.png`), visit.png);
      assert.deepEqual(visit.errors, []);
      const remote = visit.requests.filter((u) => !/^(file|data):/.test(u));
      assert.deepEqual(remote, [], 'the page fetched from the network');
      assert.match(visit.title, /^skiff: |· skiff$/);
      assert.ok(visit.textPx >= 15, `the text is ${visit.textPx}px: ` +
        'too small to read');
      assert.ok(visit.scrollWidth <= visit.innerWidth,
        `the page scrolls sideways: ${visit.scrollWidth}px wide in ` +
        `${visit.innerWidth}px`);
      const img = decodePng(visit.png);
      assert.equal(img.width, viewport.width);
      const ink = inkRatio(img);
      assert.ok(ink > 0.02 && ink < 0.9, `screenshot ${name}.png looks ` +
        `blank: ${(ink * 100).toFixed(1)}% of pixels differ from the page`);
    });
  }
});
