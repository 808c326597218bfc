// Builds the book: a static site under book/out/ made of a title page with
// the contents, the preface, one page per chapter (chapters/NN-*/README.md
// with its labs), then the engine's part: its first page
// (final/README.md) and its chapters (final/book/NN-*/README.md, with
// their labs), and last the engine's optimisations (final/fast/README.md).
//
//   npm run book
//
// Code reaches the text only through regions (`<<< ./file.ts#name`), and
// the build fails on a missing region, on a region no page uses, on a
// pulled line wider than 80 columns, on an excerpt longer than 40 lines,
// and on a link or image that points nowhere.
import {
  copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync,
  statSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLabs } from './labs.ts';
import {
  createMarkdown, escapeHtml, highlight, type RenderEnv,
} from './markdown.ts';
import {
  definesRegions, parseRegions, readRegion, RegionError,
} from './regions.ts';
import { layout, sourcePage, titlePage, type PageLink } from './template.ts';

const BOOK = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BOOK, '..');

// #region include
/**
 * A line `<<< path#region` in a chapter becomes a fenced code block with
 * that region of that file (the path is relative to the chapter folder).
 */
const INCLUDE = /^<<<\s+(\S+?)#([\w-]+)\s*$/gm;

export function expandIncludes(markdown: string, chapterDir: string,
  repo = REPO, used = new Set<string>(),
  shown?: (excerpt: string, lines: number) => void): string {
  return markdown.replace(INCLUDE, (_line, file: string, name: string) => {
    const path = resolve(chapterDir, file);
    const code = readRegion(path, name);
    used.add(`${path}#${name}`);
    const lang = { '.ts': 'ts', '.c': 'c', '.sh': 'sh', '.toml': 'ini' }[
      extname(path)] ?? '';
    const label = relative(repo, path);
    shown?.(`${label}#${name}`, code.split('\n').length);
    return `\`\`\`${lang} title="${label}#${name}"\n${code}\n\`\`\``;
  });
}
// #endregion

/**
 * Longest excerpt the book shows. A reader holds about a screen of code
 * in mind at once; a longer function is shown in parts, each its own
 * region, with the prose that explains the next part between them.
 */
export const MAX_EXCERPT_LINES = 40;

export interface Excerpt {
  /** The page that shows it, relative to the repository. */
  page: string;
  /** file#region, relative to the repository. */
  excerpt: string;
  lines: number;
}

/** Fails naming every excerpt over the limit, with its length. */
export function checkExcerptLengths(excerpts: Excerpt[],
  tolerated: readonly string[] = []): void {
  const long = excerpts.filter((e) => e.lines > MAX_EXCERPT_LINES &&
    !tolerated.includes(e.page) && !tolerated.includes(e.excerpt));
  if (long.length) {
    throw new RegionError(`book: excerpts over ${MAX_EXCERPT_LINES} lines ` +
      '(split the region in parts, with prose between them):\n  ' +
      long.map((e) => `${e.excerpt}: ${e.lines} lines (in ${e.page})`)
        .join('\n  '));
  }
}

/**
 * Pages and excerpts not yet cut to length, each being rewritten on a
 * branch of its own. Remove an entry once its text is cut.
 */
export const LONG_EXCERPTS_PENDING: readonly string[] = [];

export interface BuildOptions {
  /** The repository to build from (tests point this at a fixture). */
  repo?: string;
  outDir?: string;
  /** Pages or excerpts allowed over MAX_EXCERPT_LINES, for now. */
  tolerated?: readonly string[];
}

interface Page {
  /**
   * Output file name without .html: "preface", "01-chroot", "final"
   * (the engine's first page), "08-daemon" (an engine chapter).
   */
  id: string;
  source: string;
  title: string;
}

/** The book's pages in reading order. */
export function findPages(repo: string): Page[] {
  const pages: Page[] = [];
  const add = (id: string, source: string) => {
    if (!existsSync(source)) return;
    const text = readFileSync(source, 'utf8');
    pages.push({ id, source, title: /^#\s+(.*)$/m.exec(text)?.[1] ?? id });
  };
  add('preface', join(repo, 'book/preface.md'));
  const chapters = join(repo, 'chapters');
  for (const dir of existsSync(chapters) ? readdirSync(chapters).sort() : []) {
    if (/^\d\d-/.test(dir)) add(dir, join(chapters, dir, 'README.md'));
  }
  add('final', join(repo, 'final/README.md'));
  const engine = join(repo, 'final/book');
  for (const dir of existsSync(engine) ? readdirSync(engine).sort() : []) {
    if (/^\d\d-/.test(dir)) add(dir, join(engine, dir, 'README.md'));
  }
  add('final-fast', join(repo, 'final/fast/README.md'));
  add('final-build', join(repo, 'final/build/README.md'));
  return pages;
}

/** Renders the whole site; returns the HTML pages written. */
export function buildBook(opts: BuildOptions = {}): string[] {
  const repo = resolve(opts.repo ?? REPO);
  const outDir = resolve(opts.outDir ?? join(repo, 'book/out'));
  const pages = findPages(repo);
  const site = new Site(repo, outDir, pages);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  copyFileSync(join(BOOK, 'style.css'), join(outDir, 'style.css'));
  const written = pages.map((page, i) => site.renderPage(page, i));
  const index = join(outDir, 'index.html');
  writeFileSync(index, titlePage(site.contents()));
  site.writeSources();
  checkUnusedRegions(repo, site.usedRegions);
  checkExcerptLengths(site.excerpts, opts.tolerated ?? LONG_EXCERPTS_PENDING);
  return [index, ...written];
}

/** Everything one build keeps track of across pages. */
class Site {
  readonly usedRegions = new Set<string>();
  readonly excerpts: Excerpt[] = [];
  private readonly md = createMarkdown();
  private readonly sources = new Set<string>();
  private readonly toc: { link: PageLink; sections: PageLink[] }[] = [];

  constructor(readonly repo: string, readonly outDir: string,
    readonly pages: Page[]) {}

  renderPage(page: Page, i: number): string {
    const env = this.env(page.source);
    const dir = dirname(page.source);
    let html = this.md.render(
      expandIncludes(readFileSync(page.source, 'utf8'), dir, this.repo,
        this.usedRegions, this.shown(page.source)), env);
    const chapter = basename(dir);
    // final/build/README.md is page "final-build", its labs "build/...".
    const labs = page.id === chapter || page.id === `final-${chapter}`
      ? findLabs(this.repo, chapter) : [];
    if (labs.length) html += this.renderLabs(labs, env);
    const link = (p?: Page): PageLink | undefined => p && {
      href: `${p.id}.html`, html: this.md.renderInline(p.title),
    };
    this.toc.push({
      link: link(page)!,
      sections: env.headings.filter((h) => h.level === 2)
        .map((h) => ({ href: `${page.id}.html#${h.id}`,
          html: escapeHtml(h.text) })),
    });
    const file = join(this.outDir, `${page.id}.html`);
    writeFileSync(file, layout({
      title: page.title.replace(/`/g, ''), body: html,
      prev: link(this.pages[i - 1]), next: link(this.pages[i + 1]),
    }));
    return file;
  }

  /** The labs close the chapter, each with the command that grades it. */
  private renderLabs(labs: ReturnType<typeof findLabs>, env: RenderEnv) {
    let html = this.md.render('## Labs\n\nEach lab below comes with a ' +
      'grader. Make the change, then run the command shown: it checks ' +
      'what your code does from the host and lists what is still ' +
      'missing.\n', env);
    for (const lab of labs) {
      const labEnv = { ...this.env(lab.readme), ids: env.ids,
        headings: [] as RenderEnv['headings'], shift: 2 };
      const text = expandIncludes(readFileSync(lab.readme, 'utf8'), lab.dir,
        this.repo, this.usedRegions, this.shown(lab.readme));
      html += `<section class="lab" id="lab-${lab.name}">` +
        this.md.render(text, labEnv) +
        '<p class="grade">Check your work: <code>sudo npm run lab ' +
        `${lab.chapter}/${lab.name}</code></p></section>\n`;
    }
    return html;
  }

  /** Records each excerpt a page shows, for checkExcerptLengths. */
  private shown(source: string) {
    const page = relative(this.repo, source);
    return (excerpt: string, lines: number) =>
      this.excerpts.push({ page, excerpt, lines });
  }

  private env(sourceFile: string): RenderEnv {
    const dir = dirname(sourceFile);
    const where = relative(this.repo, sourceFile);
    return {
      ids: new Set(), headings: [],
      link: (href) => this.link(href, dir, where),
      asset: (src) => this.asset(src, dir, where),
      source: (file, region) => {
        this.sources.add(file);
        return `src/${file}.html${region ? `#region-${region}` : ''}`;
      },
    };
  }

  private link(href: string, dir: string, where: string): string {
    if (/^([a-z][a-z0-9+.-]*:|\/\/|#)/i.test(href)) return href;
    const [path, fragment] = href.split('#');
    const target = resolve(dir, decodeURI(path));
    const hash = fragment === undefined ? '' : `#${fragment}`;
    const page = this.pages.find((p) => p.source === target ||
      dirname(p.source) === target.replace(/\/$/, ''));
    if (page) return `${page.id}.html${hash}`;
    if (existsSync(target) && statSync(target).isFile() &&
      !relative(this.repo, target).startsWith('..')) {
      const file = relative(this.repo, target);
      this.sources.add(file);
      return `src/${file}.html${hash}`;
    }
    throw new RegionError(`book: ${where}: link "${href}" points nowhere`);
  }

  private asset(src: string, dir: string, where: string): string {
    if (/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(src)) {
      throw new RegionError(`book: ${where}: image "${src}" is not a local ` +
        'file (the book makes no network fetches)');
    }
    const file = resolve(dir, decodeURI(src));
    if (!existsSync(file)) {
      throw new RegionError(`book: ${where}: image "${src}" not found`);
    }
    const sub = file.startsWith(join(BOOK, 'diagrams')) ? 'diagrams' : 'assets';
    mkdirSync(join(this.outDir, sub), { recursive: true });
    copyFileSync(file, join(this.outDir, sub, basename(file)));
    return `${sub}/${basename(file)}`;
  }

  contents() {
    return this.toc;
  }

  /** Every source file a caption or link points to, highlighted. */
  writeSources(): void {
    for (const file of this.sources) {
      const out = join(this.outDir, 'src', `${file}.html`);
      mkdirSync(dirname(out), { recursive: true });
      const text = readFileSync(join(this.repo, file), 'utf8');
      const lang = extname(file).slice(1);
      const regions = parseRegions(text);
      const depth = file.split('/').length;
      writeFileSync(out, sourcePage(file, highlight(text.replace(/\n$/, ''),
        lang), regions, '../'.repeat(depth)));
    }
  }
}

const SCANNED = ['chapters', 'final', 'book', 'support', 'scripts', 'bench'];
const CODE = new Set(['.ts', '.c', '.h', '.sh']);

/**
 * Fails on regions that no page uses. Folders whose text is not written
 * yet (a chapter without README.md, final/ without its tour) are skipped:
 * their code is not in the book at all yet.
 */
export function checkUnusedRegions(repo: string, used: Set<string>): void {
  const unused: string[] = [];
  for (const file of codeFiles(repo)) {
    const text = readFileSync(file, 'utf8');
    if (!definesRegions(text)) continue;
    for (const r of parseRegions(text)) {
      if (!r.unusedOk && !used.has(`${file}#${r.name}`)) {
        unused.push(`${relative(repo, file)}:${r.line}: "${r.name}"`);
      }
    }
  }
  if (unused.length) {
    throw new RegionError('book: regions no page uses (pull them in with ' +
      '<<< or mark them `#region name (unused)`):\n  ' + unused.join('\n  '));
  }
}

function codeFiles(repo: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (['node_modules', 'out', '.cache'].includes(entry.name)) continue;
        if (!hasText(repo, path)) continue;
        walk(path);
      } else if (CODE.has(extname(entry.name))) {
        files.push(path);
      }
    }
  };
  for (const top of SCANNED) {
    const dir = join(repo, top);
    if (existsSync(dir) && hasText(repo, dir)) walk(dir);
  }
  return files.sort();
}

/** Is this folder's code in the book yet? Only chapters and final/ ask. */
function hasText(repo: string, dir: string): boolean {
  const rel = relative(repo, dir).split('/');
  if (rel[0] === 'final' && rel.length === 1 ||
    rel[0] === 'chapters' && rel.length === 2) {
    return existsSync(join(dir, 'README.md'));
  }
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const pages = buildBook();
    console.log(`book: ${pages.length} pages in ` +
      `${relative(process.cwd(), join(REPO, 'book/out')) || '.'}/ ` +
      `(open book/out/index.html)`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
