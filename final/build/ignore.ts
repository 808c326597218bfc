// .dockerignore: which files of the build context the build never
// sees. Patterns are Go's filepath.Match (`*`, `?`, `[a-z]`, `\` to
// escape) plus `**` for any number of directories; a `!` pattern takes
// files back; the last pattern that matches a path decides; a pattern
// that matches a directory matches everything below it (moby's
// patternmatcher).

interface Pattern {
  readonly exclusion: boolean;
  readonly regex: RegExp;
  readonly text: string;
}

/** The patterns of a .dockerignore file, in order. */
export function parseIgnore(source: string): Pattern[] {
  const out: Pattern[] = [];
  for (const raw of source.split('\n')) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    let text = cleanPath(line);
    if (text.length > 1 && text.startsWith('/')) text = text.slice(1);
    if (!text || text === '.') continue;
    out.push({ exclusion, regex: compilePattern(text), text });
  }
  return out;
}

/** Go's filepath.Clean for slash paths: no `.`, `..` folded, no `//`. */
export function cleanPath(path: string): string {
  const rooted = path.startsWith('/');
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (!p || p === '.') continue;
    if (p === '..' && parts.length && parts.at(-1) !== '..') parts.pop();
    else if (p !== '..' || !rooted) parts.push(p);
  }
  const joined = parts.join('/');
  return rooted ? `/${joined}` : joined || '.';
}

/**
 * A Go filepath.Match pattern (with `**`) as a regex; COPY's wildcards
 * use it too, one path component at a time.
 */
export function compilePattern(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') i++;
      // "**" at the end takes everything; elsewhere any directories.
      re += i === pattern.length - 1 ? '.*' : '(.*/)?';
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '\\' && i + 1 < pattern.length) {
      re += `\\${pattern[++i]}`;
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new Error(`syntax error in pattern ${pattern}`);
      re += `[${pattern.slice(i + 1, end).replace(/^!/, '^')}]`;
      i = end;
    } else re += /[.+()|{}$^]/.test(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(`${re}$`);
}

/**
 * Whether the context's `path` (slash-separated, relative) is left out.
 * A pattern matching one of the path's parent directories matches it.
 */
export function ignored(patterns: Pattern[], path: string): boolean {
  const file = cleanPath(path);
  const dirs = file.split('/');
  let out = false;
  for (const p of patterns) {
    let hit = p.regex.test(file);
    for (let i = 1; !hit && i < dirs.length; i++) {
      hit = p.regex.test(dirs.slice(0, i).join('/'));
    }
    if (hit) out = !p.exclusion;
  }
  return out;
}
