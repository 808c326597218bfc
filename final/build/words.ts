// The Dockerfile's words: quotes, the escape character and variables,
// as moby's shell lexer (frontend/dockerfile/shell/lex.go) reads the
// arguments of ADD, ARG, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL,
// USER, VOLUME and WORKDIR. RUN, CMD and ENTRYPOINT are left alone: the
// shell inside the container expands those.

/** Where a variable's value comes from: ARGs and ENVs in scope. */
export type Lookup = (name: string) => string | undefined;

/** The escape character, `\` or, with `# escape=\``, a backtick. */
export type Escape = '\\' | '`';

class Lexer {
  pos = 0;
  constructor(readonly text: string, readonly env: Lookup,
    readonly escape: Escape) {}

  peek(): string { return this.text[this.pos] ?? ''; }
  next(): string { return this.text[this.pos++] ?? ''; }
  done(): boolean { return this.pos >= this.text.length; }

  /**
   * The words up to the end: split at unquoted whitespace when `split`,
   * also inside an unquoted variable's value (the shell's field
   * splitting, as moby's lexer does); else the whole text as one word.
   */
  words(split: boolean): string[] {
    const out: string[] = [];
    let word: string | undefined;
    const add = (text: string) => { word = (word ?? '') + text; };
    const end = () => {
      if (word !== undefined) out.push(word);
      word = undefined;
    };
    while (!this.done()) {
      const ch = this.next();
      if (split && /\s/.test(ch)) end();
      else if (ch === "'") add(this.single());
      else if (ch === '"') add(this.double());
      else if (ch === '$' && split) {
        this.variable().split(/(\s+)/).forEach((part, i) => {
          if (i % 2) end();
          else if (part) add(part);
        });
      } else if (ch === '$') add(this.variable());
      else if (ch === this.escape) add(this.done() ? ch : this.next());
      else add(ch);
    }
    end();
    return out;
  }

  /** '...': every character literal, up to the closing quote. */
  single(): string {
    const end = this.text.indexOf("'", this.pos);
    if (end < 0) throw new Error('unexpected end of statement while ' +
      'looking for matching single-quote');
    const out = this.text.slice(this.pos, end);
    this.pos = end + 1;
    return out;
  }

  /** "...": variables expand; the escape character escapes " $ and itself. */
  double(): string {
    let out = '';
    for (;;) {
      if (this.done()) throw new Error('unexpected end of statement ' +
        'while looking for matching double-quote');
      const ch = this.next();
      if (ch === '"') return out;
      if (ch === '$') out += this.variable();
      else if (ch === this.escape &&
        ['"', '$', this.escape].includes(this.peek())) out += this.next();
      else out += ch;
    }
  }

  /** After a `$`: $NAME, ${NAME}, ${NAME:-word}, ${NAME:+word}, ... */
  variable(): string {
    if (this.peek() !== '{') {
      const name = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]/
        .exec(this.text.slice(this.pos))?.[0];
      if (!name) return '$';
      this.pos += name.length;
      return this.env(name) ?? '';
    }
    this.pos++;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(:?[-+?])?/
      .exec(this.text.slice(this.pos));
    if (!m) throw new Error(`bad substitution in "${this.text}"`);
    this.pos += m[0].length;
    const [, name, op] = m;
    const word = op ? this.braced() : '';
    if (!op && this.next() !== '}') {
      throw new Error(`missing '}' in "${this.text}"`);
    }
    const value = this.env(name);
    const set = op?.startsWith(':') ? !!value : value !== undefined;
    switch (op?.replace(':', '')) {
      case '-': return set ? value! : word;
      case '+': return set ? word : '';
      case '?':
        if (!set) throw new Error(`${name}: ${word || 'is not allowed ' +
          'to be unset'}`);
        return value!;
      default: return value ?? '';
    }
  }

  /** The word of ${NAME:-word}, itself expanded, up to the `}`. */
  braced(): string {
    let out = '';
    for (;;) {
      if (this.done()) throw new Error(`missing '}' in "${this.text}"`);
      const ch = this.next();
      if (ch === '}') return out;
      if (ch === '$') out += this.variable();
      else if (ch === "'") out += this.single();
      else if (ch === '"') out += this.double();
      else if (ch === this.escape && !this.done()) out += this.next();
      else out += ch;
    }
  }
}

/** The text as one word: quotes removed, variables expanded. */
export function expandWord(text: string, env: Lookup,
  escape: Escape = '\\'): string {
  return new Lexer(text, env, escape).words(false)[0] ?? '';
}

/** The text split at unquoted whitespace, each word expanded. */
export function expandWords(text: string, env: Lookup,
  escape: Escape = '\\'): string[] {
  return new Lexer(text, env, escape).words(true);
}

/**
 * The text split at unquoted whitespace with quotes and escapes kept:
 * ENV and LABEL split their `k=v` pairs first and expand each side
 * afterwards (moby's parseWords).
 */
export function rawWords(text: string, escape: Escape = '\\'): string[] {
  const out: string[] = [];
  let word = '';
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (!quote && /\s/.test(ch)) {
      if (word) out.push(word);
      word = '';
      continue;
    }
    word += ch;
    if (ch === escape && quote !== "'" && i + 1 < text.length) {
      word += text[++i];
    } else if (!quote && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = '';
  }
  if (word) out.push(word);
  return out;
}
