// Builds the book: each chapter's README.md, with code pulled from the
// sources by region, rendered to HTML under book/out/.
//
//   npm run book
import MarkdownIt from 'markdown-it';
import {
  existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync,
} from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRegion } from './regions.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// #region include
/**
 * A line `<<< path#region` in a chapter becomes a fenced code block with
 * that region of that file (the path is relative to the chapter folder).
 */
const INCLUDE = /^<<<\s+(\S+?)#([\w-]+)\s*$/gm;

export function expandIncludes(markdown: string, chapterDir: string): string {
  return markdown.replace(INCLUDE, (_line, file: string, name: string) => {
    const path = resolve(chapterDir, file);
    const code = readRegion(path, name);
    const lang = { '.ts': 'ts', '.c': 'c', '.sh': 'sh' }[extname(path)] ?? '';
    const label = relative(REPO, path);
    return `\`\`\`${lang} title="${label}#${name}"\n${code}\n\`\`\``;
  });
}
// #endregion

export interface BuildOptions {
  chaptersDir?: string;
  outDir?: string;
}

/** Renders every chapter; returns the pages written. */
export function buildBook(opts: BuildOptions = {}): string[] {
  const chaptersDir = opts.chaptersDir ?? join(REPO, 'chapters');
  const outDir = opts.outDir ?? join(REPO, 'book/out');
  const md = new MarkdownIt({ html: true, linkify: true });
  mkdirSync(outDir, { recursive: true });
  const pages: string[] = [];
  for (const chapter of readdirSync(chaptersDir).sort()) {
    const source = join(chaptersDir, chapter, 'README.md');
    if (!existsSync(source)) continue;
    const text = expandIncludes(readFileSync(source, 'utf8'),
      join(chaptersDir, chapter));
    const title = /^#\s+(.*)$/m.exec(text)?.[1] ?? chapter;
    const page = join(outDir, `${chapter}.html`);
    writeFileSync(page, htmlPage(title, md.render(text)));
    pages.push(page);
  }
  return pages;
}

function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title></head>
<body><main>
${body}</main></body></html>
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const pages = buildBook();
    console.log(`book: ${pages.length} pages in book/out/`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
