// The book's markdown dialect, on top of markdown-it:
//   - fenced code highlighted (TypeScript, C, shell) by highlight.js;
//     a fence `ts title="file#region"` gets a caption linking the source;
//   - ```console blocks: `$ ` lines are commands, the rest is output;
//     ```console runnable marks a session the tests run (sessions.ts);
//     `cgroup=v1` or `cgroup=v2` after it says which hosts print that
//     output (the caption says so; the tests run it only there);
//   - every heading gets a GitHub-style id and a link to itself;
//   - links and images are resolved by the build (pages, sources, SVGs);
//     an image alone in its paragraph becomes a figure with a caption.
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import typescript from 'highlight.js/lib/languages/typescript';
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';

hljs.registerLanguage('typescript', typescript);
hljs.registerLanguage('c', c);
hljs.registerLanguage('bash', bash);

const LANGS: Record<string, string> = {
  ts: 'typescript', typescript: 'typescript', js: 'typescript',
  c: 'c', h: 'c', sh: 'bash', bash: 'bash', shell: 'bash',
};

/** What the build tells the renderer about the page being rendered. */
export interface RenderEnv {
  /** Rewrites a link target; throws when it points nowhere. */
  link(href: string): string;
  /** Rewrites an image source (copies the file); throws when missing. */
  asset(src: string): string;
  /** Link to the rendered source of a repo file, for code captions. */
  source(file: string, region: string): string;
  /** Ids already used on this page (headings of chapter and labs). */
  ids: Set<string>;
  /** Headings found, for the page's contents list. */
  headings: { level: number; id: string; text: string }[];
  /** Added to every heading level (labs render under the chapter). */
  shift?: number;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;',
  })[ch]!);
}

/** GitHub's heading ids, so links work on GitHub and in the book alike. */
export function slugify(text: string): string {
  return text.trim().toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '').replace(/\s/g, '-');
}

export function highlight(code: string, lang: string): string {
  const name = LANGS[lang];
  if (!name) return escapeHtml(code);
  return hljs.highlight(code, { language: name, ignoreIllegals: true })
    .value;
}

/** A shell session: prompts and commands highlighted, output plain. */
export function renderConsole(code: string): string {
  return code.split('\n').map((line) => {
    const cmd = /^\$ (.*)$/.exec(line);
    if (!cmd) return `<span class="output">${escapeHtml(line)}</span>`;
    return `<span class="prompt">$ </span>${highlight(cmd[1], 'sh')}`;
  }).join('\n');
}

export type CgroupVersion = 'v1' | 'v2';

export interface FenceInfo {
  lang: string;
  title?: string;
  runnable: boolean;
  /** Output of a host with this cgroup version only (v1: or hybrid). */
  cgroup?: CgroupVersion;
}

export function parseFenceInfo(info: string): FenceInfo {
  const lang = info.trim().split(/\s+/)[0] ?? '';
  const title = /title="([^"]*)"/.exec(info)?.[1];
  const runnable = /(^|\s)runnable(\s|$)/.test(info);
  const cgroup = /(^|\s)cgroup=(v[12])(\s|$)/.exec(info)?.[2] as
    CgroupVersion | undefined;
  return { lang, title, runnable, cgroup };
}

export function createMarkdown(): MarkdownIt {
  const md = new MarkdownIt({ html: true, linkify: true, typographer: true });
  md.renderer.rules.fence = (tokens, i, _opts, env: RenderEnv) =>
    renderFence(tokens[i], env);
  md.core.ruler.push('skiff-headings', (state) => {
    headingIds(state.tokens, state.env as RenderEnv, state.Token);
  });
  md.core.ruler.push('skiff-figures',
    (state) => figures(state.tokens, state.Token));
  const link = md.renderer.rules.link_open;
  md.renderer.rules.link_open = (tokens, i, opts, env: RenderEnv, self) => {
    const href = tokens[i].attrGet('href');
    if (href !== null) tokens[i].attrSet('href', env.link(href));
    return link ? link(tokens, i, opts, env, self)
      : self.renderToken(tokens, i, opts);
  };
  const image = md.renderer.rules.image!;
  md.renderer.rules.image = (tokens, i, opts, env: RenderEnv, self) => {
    tokens[i].attrSet('src', env.asset(tokens[i].attrGet('src') ?? ''));
    return image(tokens, i, opts, env, self);
  };
  return md;
}

function renderFence(token: Token, env: RenderEnv): string {
  const info = parseFenceInfo(token.info);
  const code = token.content.replace(/\n$/, '');
  const body = info.lang === 'console' ? renderConsole(code)
    : highlight(code, info.lang);
  const classes = ['code', info.lang === 'console' ? 'console' : ''];
  let caption = '';
  if (info.title) {
    const [file, region = ''] = info.title.split('#');
    caption = `<figcaption><a href="${env.source(file, region)}">` +
      `${escapeHtml(file)}</a>` +
      (region ? ` <span class="region">#${escapeHtml(region)}</span>` : '') +
      '</figcaption>';
  } else if (info.runnable || info.cgroup) {
    const host = info.cgroup ? `on cgroup ${info.cgroup}` : '';
    const where = info.cgroup ? ` on a cgroup ${info.cgroup} host` : '';
    if (info.runnable) classes.push('runnable');
    caption = info.runnable ? '<figcaption title="book/sessions.test.ts ' +
      `runs these commands${where} and compares their output">` +
      `${host ? `${host} · ` : ''}checked by the tests</figcaption>`
      : `<figcaption>${host}</figcaption>`;
  }
  const lang = LANGS[info.lang] ?? info.lang;
  return `<figure class="${classes.join(' ').trim()}">${caption}` +
    `<pre><code class="hljs${lang ? ` language-${lang}` : ''}">` +
    `${body}</code></pre></figure>\n`;
}

type TokenClass = new (type: string, tag: string, nesting: -1 | 0 | 1)
  => Token;

function headingIds(tokens: Token[], env: RenderEnv, Tok: TokenClass)
  : void {
  if (!env?.ids) return; // parsing only, not rendering a page
  tokens.forEach((token, i) => {
    if (token.type !== 'heading_open') return;
    const inline = tokens[i + 1];
    const text = (inline.children ?? [])
      .filter((t) => t.type === 'text' || t.type === 'code_inline')
      .map((t) => t.content).join('');
    let id = slugify(text) || 'section';
    for (let n = 1; env.ids.has(id); n++) id = `${slugify(text)}-${n}`;
    env.ids.add(id);
    const level = Math.min(6, Number(token.tag.slice(1)) + (env.shift ?? 0));
    token.tag = `h${level}`;
    tokens[i + 2].tag = token.tag;
    token.attrSet('id', id);
    // A self-link after the text, shown on hover: "¶".
    const anchor = new Tok('html_inline', '', 0);
    anchor.content = `<a class="anchor" href="#${id}" ` +
      'aria-label="link to this section">¶</a>';
    inline.children = [...(inline.children ?? []), anchor];
    env.headings.push({ level, id, text });
  });
}

/** A paragraph holding only an image becomes <figure> + <figcaption>. */
function figures(tokens: Token[], Tok: TokenClass): void {
  tokens.forEach((token, i) => {
    if (token.type !== 'paragraph_open') return;
    const children = tokens[i + 1]?.children ?? [];
    if (children.length !== 1 || children[0].type !== 'image') return;
    const img = children[0];
    const caption = img.attrGet('title') ?? img.content;
    token.tag = 'figure';
    token.attrSet('class', 'diagram');
    tokens[i + 2].tag = 'figure';
    const cap = new Tok('html_inline', '', 0);
    cap.content = `<figcaption>${escapeHtml(caption)}</figcaption>`;
    tokens[i + 1].children = [img, cap];
  });
}
