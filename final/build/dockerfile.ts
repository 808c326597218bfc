// The Dockerfile, read as docker's classic builder reads it (moby's
// frontend/dockerfile/parser): parser directives at the top, comments,
// lines continued by the escape character, one instruction per logical
// line with its `--flags`, the JSON (exec) form where an instruction
// allows it, and the stages each FROM begins. Nothing here expands a
// variable: that needs the build's ARG and ENV values, step by step.
import type { Escape } from './words.ts';

export interface Instruction {
  /** The keyword, upper-cased: "RUN", "COPY", ... */
  readonly cmd: string;
  /** `--name=value` flags before the arguments (`--name` alone: ''). */
  readonly flags: Readonly<Record<string, string>>;
  /** The arguments after the flags, continuations joined. */
  readonly text: string;
  /** The exec form's array, when the arguments are one (JSON). */
  readonly json?: readonly string[];
  /** For ONBUILD: the instruction it keeps for later builds. */
  readonly trigger?: Instruction;
  /** The line it starts on (1-based), for errors. */
  readonly line: number;
  /** "RUN echo hi": the Step line and history's created_by. */
  readonly original: string;
}

export interface Stage {
  readonly from: Instruction;
  /** The image (or "scratch", or an earlier stage's name) to start from. */
  readonly base: string;
  /** `FROM image AS name`: lower-cased, as docker compares them. */
  readonly name?: string;
  readonly body: Instruction[];
}

export interface Dockerfile {
  readonly escape: Escape;
  /** `# syntax=`: a BuildKit frontend, which this builder ignores. */
  readonly syntax?: string;
  /** ARGs before the first FROM: usable in FROM lines only. */
  readonly globalArgs: Instruction[];
  readonly stages: Stage[];
}

/** A Dockerfile the builder cannot read; `line` is 1-based. */
export class DockerfileError extends Error {
  constructor(readonly file: string, readonly line: number,
    message: string) {
    super(`dockerfile parse error on line ${line} of ${file}: ${message}`);
  }
}

/** Each instruction and the flags it takes (docker's reference). */
const FLAGS: Record<string, string[]> = {
  FROM: ['platform'], RUN: ['mount', 'network', 'security'],
  CMD: [], ENTRYPOINT: [], ENV: [], ARG: [], LABEL: [], EXPOSE: [],
  VOLUME: [], USER: [], WORKDIR: [], SHELL: [], STOPSIGNAL: [],
  ONBUILD: [], MAINTAINER: [],
  COPY: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  ADD: ['chown', 'chmod', 'checksum', 'keep-git-dir', 'link', 'exclude'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval',
    'retries'],
};

/** Where `["a", "b"]` is the exec form rather than a shell string. */
const JSON_FORM = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'VOLUME',
  'COPY', 'ADD']);

/**
 * `# escape=\`` and `# syntax=...` count only at the very top: the
 * first comment that is not one, blank line or instruction ends them.
 * An unknown directive is a comment (docker's reference).
 */
function directives(lines: string[], file: string) {
  const seen: Record<string, string> = {};
  let n = 0;
  for (; n < lines.length; n++) {
    const m = /^#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*?)\s*$/.exec(lines[n]);
    if (!m) break;
    const key = m[1].toLowerCase();
    if (!['escape', 'syntax', 'check'].includes(key)) continue;
    if (key in seen) {
      throw new DockerfileError(file, n + 1,
        `only one ${key} parser directive can be used`);
    }
    seen[key] = m[2];
  }
  const escape = seen.escape ?? '\\';
  if (escape !== '\\' && escape !== '`') {
    throw new DockerfileError(file, 1, `invalid escape token '${escape}'` +
      ' does not match ` or \\');
  }
  return { escape: escape as Escape, syntax: seen.syntax, skip: n };
}

// #region logical-lines
/**
 * Joins continued lines into logical ones. Comment lines vanish even
 * inside a continuation, and so do blank ones (docker warns of those).
 */
function logicalLines(lines: string[], escape: Escape, skip: number)
  : { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const continued = new RegExp(`\\${escape}[ \\t]*$`);
  let text = '';
  let start = 0;
  for (let i = skip; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (/^\s*#/.test(raw) || (text && raw.trim() === '')) continue;
    if (!text) start = i + 1;
    if (continued.test(raw)) {
      text += raw.replace(continued, '');
      if (i < lines.length - 1) continue;
    } else text += raw;
    if (text.trim()) out.push({ text: text.trim(), line: start });
    text = '';
  }
  return out;
}
// #endregion

// #region instruction
/** One logical line as an instruction: keyword, flags, arguments. */
export function parseInstruction(text: string, line: number, file: string,
  escape: Escape = '\\'): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
  const cmd = m[1].toUpperCase();
  const known = FLAGS[cmd];
  if (!known) {
    throw new DockerfileError(file, line, `unknown instruction: ${m[1]}`);
  }
  const flags: Record<string, string> = {};
  let rest = m[2];
  for (let f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); f;
    f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
    if (!known.includes(f[1])) {
      throw new DockerfileError(file, line, `${cmd}: unknown flag: ` +
        `--${f[1]}`);
    }
    flags[f[1]] = f[2] ?? '';
    rest = rest.slice(f[0].length);
  }
  const base = { cmd, flags, text: rest, line, original: `${cmd} ${
    m[2]}`.trim() };
  if (cmd === 'ONBUILD') return onbuild(base, file, escape);
  const json = JSON_FORM.has(cmd) ? jsonForm(rest) : undefined;
  if (cmd === 'SHELL' && !json) {
    throw new DockerfileError(file, line,
      'SHELL requires the arguments to be in JSON form');
  }
  if (!rest && !['CMD', 'ENTRYPOINT'].includes(cmd)) {
    throw new DockerfileError(file, line,
      `${cmd} requires at least one argument`);
  }
  return json ? { ...base, json } : base;
}
// #endregion

function onbuild(base: Instruction, file: string, escape: Escape)
  : Instruction {
  const trigger = parseInstruction(base.text, base.line, file, escape);
  if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(trigger.cmd)) {
    throw new DockerfileError(file, base.line,
      `${trigger.cmd} isn't allowed as an ONBUILD trigger`);
  }
  return { ...base, trigger };
}

/** `["a", "b"]` as an array of strings, else undefined (shell form). */
function jsonForm(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((s) => typeof s === 'string')
      ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A whole Dockerfile's text as stages of instructions. */
export function parseDockerfile(source: string, file = 'Dockerfile')
  : Dockerfile {
  const lines = source.replace(/^\uFEFF/, '').split('\n');
  const { escape, syntax, skip } = directives(lines, file);
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const { text, line } of logicalLines(lines, escape, skip)) {
    const ins = parseInstruction(text, line, file, escape);
    if (ins.cmd === 'FROM') stages.push(stage(ins, file, stages));
    else if (stages.length) stages.at(-1)!.body.push(ins);
    else if (ins.cmd === 'ARG') globalArgs.push(ins);
    else {
      throw new DockerfileError(file, line, 'no build stage in current ' +
        `context: ${ins.cmd} comes before the first FROM`);
    }
  }
  if (!stages.length) {
    throw new DockerfileError(file, 1, 'file with no instructions');
  }
  return { escape, syntax, globalArgs, stages };
}

/** FROM image [AS name]: a new stage. */
function stage(from: Instruction, file: string, before: Stage[]): Stage {
  const words = from.text.split(/\s+/);
  if (words.length !== 1 && (words.length !== 3 ||
    words[1].toLowerCase() !== 'as')) {
    throw new DockerfileError(file, from.line,
      'FROM requires either one or three arguments');
  }
  const name = words[2]?.toLowerCase();
  if (name && !/^[a-z][a-z0-9-_.]*$/.test(name)) {
    throw new DockerfileError(file, from.line,
      `invalid name for build stage: "${words[2]}", name can't start ` +
      'with a number or contain symbols');
  }
  if (name && before.some((s) => s.name === name)) {
    throw new DockerfileError(file, from.line,
      `duplicate name ${name}`);
  }
  return { from, base: words[0], name, body: [] };
}
