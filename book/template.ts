// The HTML around the pages: head, navigation, title page, source pages.
// One stylesheet (style.css), no scripts, no fonts or anything else
// fetched from the network.
import { escapeHtml } from './markdown.ts';
import type { Region } from './regions.ts';

export interface PageLink {
  href: string;
  /** Inline HTML of the title. */
  html: string;
}

const BOOK_TITLE = 'skiff';
const SUBTITLE = 'Build a container engine in TypeScript, one kernel ' +
  'mechanism at a time';

function head(title: string, root = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${root}style.css">
<link rel="icon" href="data:,">
</head>`;
}

function nav(prev?: PageLink, next?: PageLink): string {
  const p = prev ? `<a class="prev" rel="prev" href="${prev.href}">` +
    `<span>previous</span>${prev.html}</a>` : '<span></span>';
  const n = next ? `<a class="next" rel="next" href="${next.href}">` +
    `<span>next</span>${next.html}</a>` : '<span></span>';
  return `<nav class="pager">${p}${n}</nav>`;
}

export interface LayoutOptions {
  title: string;
  body: string;
  prev?: PageLink;
  next?: PageLink;
}

/** A page of the book: bar on top, text, previous/next at the bottom. */
export function layout(o: LayoutOptions): string {
  return `${head(`${o.title} · ${BOOK_TITLE}`)}
<body>
<header class="bar"><a class="home" href="index.html">${BOOK_TITLE}</a>
<a href="index.html#contents">contents</a></header>
<main><article>
${o.body}</article>
${nav(o.prev, o.next)}
</main>
</body></html>
`;
}

/** The title page: what the book is, then the contents. */
export function titlePage(toc: { link: PageLink; sections: PageLink[] }[])
  : string {
  const items = toc.map(({ link, sections }) => `<li><a href="${link.href}">` +
    `${link.html}</a>` + (sections.length ? '<ol class="sections">' +
      sections.map((s) => `<li><a href="${s.href}">${s.html}</a></li>`)
        .join('') + '</ol>' : '') + '</li>').join('\n');
  const first = toc[0] ? `<p class="start"><a href="${toc[0].link.href}">` +
    'Start reading →</a></p>' : '';
  return `${head(`${BOOK_TITLE}: ${SUBTITLE}`)}
<body class="title-page">
<main>
<header class="cover">
<h1>${BOOK_TITLE}</h1>
<p class="subtitle">${SUBTITLE}</p>
<p>A container is an ordinary Linux process that the kernel has been asked
to lie to. This book builds a container engine, a small docker, in
TypeScript: every chapter adds one of the kernel's lies with the system
calls runc and crun make, and every chapter runs and is tested.</p>
${first}
</header>
<h2 id="contents">Contents</h2>
<ol class="toc">
${items}
</ol>
</main>
</body></html>
`;
}

/**
 * A source file, highlighted, with numbered lines (#L12) and an anchor at
 * each region (#region-name) for the code captions to point to.
 */
export function sourcePage(file: string, highlighted: string,
  regions: Region[], root: string): string {
  const starts = new Map(regions.map((r) => [r.line, r.name]));
  const lines = splitHighlighted(highlighted).map((html, i) => {
    const n = i + 1;
    const region = starts.get(n);
    const id = region ? ` id="region-${escapeHtml(region)}"` : '';
    return `<span class="line"${id}><a id="L${n}" href="#L${n}">${n}</a>` +
      `${html}</span>`;
  });
  return `${head(file, root)}
<body class="source">
<header class="bar"><a class="home" href="${root}index.html">${BOOK_TITLE}
</a><span class="file">${escapeHtml(file)}</span></header>
<main class="wide"><pre class="listing"><code class="hljs">${lines.join('\n')}
</code></pre></main>
</body></html>
`;
}

/**
 * Splits highlight.js output into lines, closing the spans still open at
 * each line end and reopening them on the next line, so that every line
 * is balanced HTML (comments and strings span lines).
 */
function splitHighlighted(html: string): string[] {
  const out: string[] = [];
  let open: string[] = [];
  for (const line of html.split('\n')) {
    let text = open.join('') + line;
    const tags = line.match(/<span[^>]*>|<\/span>/g) ?? [];
    for (const tag of tags) {
      if (tag === '</span>') open = open.slice(0, -1);
      else open = [...open, tag];
    }
    text += '</span>'.repeat(open.length);
    out.push(text);
  }
  return out;
}
