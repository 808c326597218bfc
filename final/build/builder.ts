// A build is run + commit in a loop, with a cache: each instruction of
// a stage either changes the image's config alone (ENV, CMD, ...: a new
// image with an empty layer) or runs a container on the last image and
// commits what it changed (RUN, COPY, ADD: one layer each). A step
// whose parent image and instruction (and, for COPY/ADD, the content
// of its sources) match an earlier build's reuses that build's image.
import { createHash } from 'node:crypto';
import { parseSignal } from '../../chapters/02-namespaces/signals.ts';
import { parseDuration } from '../durations.ts';
import type { ContainerConfig } from
  '../../chapters/04-aufs-overlay/store.ts';
import { type PortMapping, parsePublish } from
  '../../chapters/05-network/ports.ts';
import {
  type Dockerfile, type Instruction, parseDockerfile, parseInstruction,
  type Stage,
} from './dockerfile.ts';
import {
  type Escape, expandWord, expandWords, type Lookup, rawWords,
} from './words.ts';

/** What `docker build` and POST /build choose. */
export interface BuildOptions {
  dockerfile: string;
  buildArgs: Record<string, string>;
  target?: string;
  noCache?: boolean;
  labels?: Record<string, string>;
  /** Aborted when the client goes away: the build stops between steps. */
  signal?: AbortSignal;
}

/** One change to the image's files, made by a step's container. */
export interface FileStep {
  /** The image to start from ('' for scratch). */
  parent: string;
  /** RUN: argv, env, user, workdir of the process. */
  run?: { argv: string[]; env: string[]; user: string; workdir: string };
  /** COPY/ADD: what goes where, resolved by the backend. */
  copy?: { sources: string[]; dest: string; from?: string; chown?: string;
    chmod?: string; add: boolean; workdir: string };
  config: ContainerConfig;
  createdBy: string;
}

/** What the builder needs of the engine (the daemon supplies it). */
export interface BuildBackend {
  /** An image's id and config by reference; pulls what is missing. */
  image(ref: string): Promise<{ id: string; config: ContainerConfig }>;
  /** A new image: `parent` with another config and an empty layer. */
  configure(parent: string, config: ContainerConfig, createdBy: string)
    : Promise<string>;
  /** Runs or copies in a container of `step.parent`, commits: the id. */
  change(step: FileStep): Promise<string>;
  /** The content hash of COPY/ADD sources, for the cache key. */
  sourcesHash(step: FileStep): Promise<string>;
  cacheGet(key: string): string | undefined;
  cacheSet(key: string, image: string): void;
  /** Build output: "Step 1/5 : FROM busybox\n", " ---> 1a2b3c\n". */
  say(text: string): void;
}

/** A failure of one step, with docker's wording and exit code. */
export class BuildError extends Error {
  constructor(message: string, readonly code = 1) { super(message); }
}

/** The proxy ARGs every build knows without declaring them. */
const PREDEFINED = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY',
  'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy',
  'ALL_PROXY', 'all_proxy'];

interface State {
  image: string; // '' while FROM scratch has added nothing
  /** Running FROM's ONBUILD triggers: one " ---> id" for them all. */
  trigger?: boolean;
  config: ContainerConfig;
  args: Map<string, string | undefined>;
  shell: string[];
  escape: Escape;
}

/** Builds the Dockerfile's stages up to the target; the image's id. */
export async function build(source: string, opts: BuildOptions,
  backend: BuildBackend): Promise<string> {
  const df = parseDockerfile(source, opts.dockerfile);
  const stages = upToTarget(df, opts.target);
  const globals = argScope(df.globalArgs, opts.buildArgs, new Map(),
    df.escape);
  const built = new Map<string, string>();
  const total = stages.reduce((n, s) => n + 1 + s.body.length, 0) +
    (opts.labels && Object.keys(opts.labels).length ? 1 : 0);
  const step = { n: 0, total };
  let image = '';
  for (const [i, stage] of stages.entries()) {
    const state = await fromStage(stage, globals, built, backend, step,
      df.escape);
    await triggers(state, opts, backend, built);
    backend.say(` ---> ${state.image ? shortId(state.image) : 'scratch'}\n`);
    for (const ins of stage.body) {
      if (opts.signal?.aborted) throw new BuildError('build canceled');
      await dispatch(ins, state, opts, backend, step, built);
    }
    image = state.image;
    built.set(String(i), image);
    if (stage.name) built.set(stage.name, image);
    if (i === stages.length - 1 && opts.labels &&
      Object.keys(opts.labels).length) {
      image = await labelled(state, opts.labels, backend, step);
    }
  }
  const unused = unusedArgs([...df.globalArgs, ...stages.flatMap((st) =>
    st.body)], opts.buildArgs, df.escape);
  if (unused.length) {
    backend.say(`[Warning] One or more build-args [${unused.join(' ')}] ` +
      'were not consumed\n');
  }
  return image;
}

/**
 * --build-arg names no ARG of the built stages declares (the proxy
 * ARGs aside), sorted: docker's builder warns about them at the end.
 */
function unusedArgs(lines: Instruction[], given: Record<string, string>,
  escape: Escape): string[] {
  const declared = new Set(lines.filter((l) => l.cmd === 'ARG')
    .flatMap((l) => rawWords(l.text, escape).map((w) => w.split('=')[0])));
  return Object.keys(given).filter((k) => !declared.has(k) &&
    !PREDEFINED.includes(k)).sort();
}

function upToTarget(df: Dockerfile, target?: string): Stage[] {
  if (!target) return df.stages;
  const i = df.stages.findIndex((s) => s.name === target.toLowerCase());
  if (i < 0) {
    throw new BuildError(`failed to reach build target ${target} in ` +
      'Dockerfile');
  }
  return df.stages.slice(0, i + 1);
}

/** ARG lines: their defaults, overridden by --build-arg. */
function argScope(lines: Instruction[], given: Record<string, string>,
  into: Map<string, string | undefined>, escape: Escape) {
  const lookup: Lookup = (name) => into.get(name);
  for (const line of lines) {
    for (const word of rawWords(line.text, escape)) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      const value = eq < 0 ? undefined
        : expandWord(word.slice(eq + 1), lookup, escape);
      into.set(name, name in given ? given[name] : value);
    }
  }
  return into;
}

async function fromStage(stage: Stage, globals: Map<string,
  string | undefined>, built: Map<string, string>, backend: BuildBackend,
  step: { n: number; total: number }, escape: Escape): Promise<State> {
  say(backend, step, stage.from.original);
  const base = expandWord(stage.base, (n) => globals.get(n), escape);
  const state: State = { image: '', config: {}, args: new Map(),
    shell: SHELL, escape };
  if (base !== 'scratch') {
    // An earlier stage by name or index, else an image (pulled if need be).
    const img = await backend.image(built.get(base.toLowerCase()) ?? base);
    state.image = img.id;
    state.config = structuredClone(img.config);
  }
  return state;
}

const SHELL = ['/bin/sh', '-c'];

/**
 * ONBUILD: instructions an image keeps for the builds that start FROM
 * it. They run right after that FROM, and the new image does not
 * inherit them (docker's reference).
 */
async function triggers(state: State, opts: BuildOptions,
  backend: BuildBackend, built: Map<string, string>): Promise<void> {
  const c = state.config as ContainerConfig & { OnBuild?: string[] };
  const lines = c.OnBuild ?? [];
  delete c.OnBuild;
  if (!lines.length) return;
  backend.say(`# Executing ${lines.length} build trigger` +
    `${lines.length > 1 ? 's' : ''}\n`);
  state.trigger = true;
  for (const line of lines) {
    const ins = parseInstruction(line, 1, 'ONBUILD', state.escape);
    await dispatch(ins, state, opts, backend, undefined, built);
  }
  state.trigger = false;
}

function say(backend: BuildBackend, step: { n: number; total: number },
  text: string): void {
  step.n++;
  backend.say(`Step ${step.n}/${step.total} : ${text}\n`);
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** The variables a step sees: ARGs in scope, then the image's ENV. */
function lookup(state: State, buildArgs: Record<string, string>): Lookup {
  return (name) => {
    const env = state.config.Env?.find((e) => e.startsWith(`${name}=`));
    if (env) return env.slice(name.length + 1);
    if (state.args.has(name)) return state.args.get(name);
    return PREDEFINED.includes(name) ? buildArgs[name] : undefined;
  };
}

// #region dispatch
async function dispatch(ins: Instruction, state: State, opts: BuildOptions,
  backend: BuildBackend, step: { n: number; total: number } | undefined,
  built: Map<string, string>): Promise<void> {
  if (step) say(backend, step, ins.original);
  const vars = lookup(state, opts.buildArgs);
  if (ins.cmd === 'ARG') {
    argScope([ins], opts.buildArgs, state.args, state.escape);
    return commitConfig(state, ins, backend, opts);
  }
  if (ins.cmd === 'RUN' || ins.cmd === 'COPY' || ins.cmd === 'ADD') {
    return fileStep(ins, state, opts, backend, built, vars);
  }
  applyConfig(ins, state, vars);
  return commitConfig(state, ins, backend, opts);
}
// #endregion

/** What `commit --change` and `import --change` may set (docker's list). */
const CHANGES = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD',
  'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'];

/**
 * One instruction of `commit --change` or `import --change`, applied to
 * a copy of `base`: the builder's own parser and dispatch, so a change
 * means what the same line means in a Dockerfile.
 */
export function applyChange(base: ContainerConfig, line: string)
  : ContainerConfig {
  const ins = parseInstruction(line.trim(), 1, '--change');
  if (!CHANGES.includes(ins.cmd)) {
    throw new BuildError(`${ins.cmd} is not a valid change command`);
  }
  const state: State = { image: '', config: structuredClone(base),
    args: new Map(), shell: SHELL, escape: '\\' };
  applyConfig(ins, state, lookup(state, {}));
  return state.config;
}

/** The instructions that change the config alone. */
function applyConfig(ins: Instruction, state: State, vars: Lookup): void {
  const c = state.config;
  const word = (t: string) => expandWord(t, vars, state.escape);
  const exec = () => ins.json ? [...ins.json] : [...state.shell, ins.text];
  switch (ins.cmd) {
    case 'ENV': {
      const env = new Map((c.Env ?? []).map((e) => [e.split('=')[0], e]));
      for (const [k, v] of pairs(ins, vars, state.escape)) {
        env.set(k, `${k}=${v}`);
      }
      c.Env = [...env.values()];
      return;
    }
    case 'LABEL':
      c.Labels = { ...c.Labels,
        ...Object.fromEntries(pairs(ins, vars, state.escape)) };
      return;
    case 'CMD': c.Cmd = exec(); return;
    case 'ENTRYPOINT':
      c.Entrypoint = ins.text ? exec() : null;
      return;
    case 'EXPOSE':
      for (const p of expandWords(ins.text, vars, state.escape)) {
        expose(c, p);
      }
      return;
    case 'VOLUME':
      for (const v of ins.json ?? expandWords(ins.text, vars,
        state.escape)) (c.Volumes ??= {})[v] = {};
      return;
    case 'USER': c.User = word(ins.text); return;
    case 'WORKDIR': {
      const dir = word(ins.text);
      c.WorkingDir = dir.startsWith('/') ? dir
        : `${(c.WorkingDir ?? '/').replace(/\/$/, '')}/${dir}`;
      return;
    }
    case 'STOPSIGNAL':
      c.StopSignal = word(ins.text);
      parseSignal(c.StopSignal); // refuses what no kill could send
      return;
    case 'SHELL': state.shell = [...ins.json!]; return;
    case 'ONBUILD':
      (c as { OnBuild?: string[] }).OnBuild = [
        ...((c as { OnBuild?: string[] }).OnBuild ?? []),
        ins.trigger!.original];
      return;
    case 'HEALTHCHECK': healthcheck(ins, state); return;
    case 'MAINTAINER': return;
  }
}

/**
 * EXPOSE 80, 53/udp, 8000-8001/tcp: chapter 05's port grammar (the
 * container side of `-p`); a range exposes each of its ports.
 */
function expose(c: ContainerConfig, text: string): void {
  let m: PortMapping;
  try {
    m = parsePublish(text);
  } catch (err) {
    throw Object.assign(new BuildError(`invalid containerPort: ${text}`),
      { cause: err });
  }
  if (m.hostPort || m.hostIP) {
    throw new BuildError(`invalid containerPort: ${text}`);
  }
  for (let p = m.containerPort.start; p <= m.containerPort.end; p++) {
    (c.ExposedPorts ??= {})[`${p}/${m.protocol}`] = {};
  }
}

/** ENV/LABEL's `k=v` pairs, or ENV's old `k v` form. */
function pairs(ins: Instruction, vars: Lookup, escape: Escape)
  : [string, string][] {
  const words = rawWords(ins.text, escape);
  if (!words[0].includes('=')) {
    if (ins.cmd === 'ENV' && words.length > 1) {
      const value = ins.text.slice(ins.text.indexOf(words[0]) +
        words[0].length).trim();
      return [[words[0], expandWord(value, vars, escape)]];
    }
    throw new BuildError(`${ins.cmd} names must be followed by "=": ` +
      `${ins.original}`);
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 1) throw new BuildError(`${ins.cmd}: bad pair "${w}"`);
    return [expandWord(w.slice(0, eq), vars, escape),
      expandWord(w.slice(eq + 1), vars, escape)];
  });
}

function healthcheck(ins: Instruction, state: State): void {
  const c = state.config as ContainerConfig & { Healthcheck?: object };
  const [kind, ...rest] = ins.text.split(/\s+/);
  if (kind.toUpperCase() === 'NONE') {
    c.Healthcheck = { Test: ['NONE'] };
    return;
  }
  if (kind.toUpperCase() !== 'CMD') {
    throw new BuildError('HEALTHCHECK needs CMD or NONE');
  }
  const text = ins.text.slice(ins.text.indexOf(kind) + kind.length).trim();
  let test: string[];
  try {
    const json: unknown = JSON.parse(text);
    test = Array.isArray(json) ? ['CMD', ...json] : ['CMD-SHELL', text];
  } catch {
    test = ['CMD-SHELL', rest.length ? text : ''];
  }
  const ns = (flag: string) => ins.flags[flag] === undefined ? undefined
    : durationNs(flag, ins.flags[flag]);
  c.Healthcheck = { Test: test, Interval: ns('interval'),
    Timeout: ns('timeout'), StartPeriod: ns('start-period'),
    Retries: ins.flags.retries ? Number(ins.flags.retries) : undefined };
}

/** A HEALTHCHECK flag's duration (Go's syntax), in nanoseconds. */
function durationNs(flag: string, text: string): number {
  let ns: number;
  try {
    ns = parseDuration(text);
  } catch (err) {
    throw new BuildError(`HEALTHCHECK --${flag}: ${(err as Error).message}`);
  }
  // moby's parseOptInterval: 0 is "the default", else at least 1ms.
  if (ns !== 0 && ns < 1e6) {
    throw new BuildError(`Interval "${flag}" cannot be less than 1ms`);
  }
  return ns;
}

/** A config-only step: a cached image, or a new one. */
async function commitConfig(state: State, ins: Instruction,
  backend: BuildBackend, opts: BuildOptions): Promise<void> {
  const createdBy = `/bin/sh -c #(nop) ${ins.original.replace(/^\S+/,
    ins.cmd)}`;
  const key = cacheKey(state.image, createdBy, JSON.stringify(state.config));
  const hit = opts.noCache ? undefined : backend.cacheGet(key);
  if (hit) {
    backend.say(' ---> Using cache\n');
    state.image = hit;
  } else {
    state.image = await backend.configure(state.image, state.config,
      createdBy);
    backend.cacheSet(key, state.image);
  }
  if (!state.trigger) backend.say(` ---> ${shortId(state.image)}\n`);
}

/** --label: one more config step at the end, as docker's builder does. */
async function labelled(state: State, labels: Record<string, string>,
  backend: BuildBackend, step: { n: number; total: number })
  : Promise<string> {
  const text = Object.entries(labels).map(([k, v]) =>
    `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ');
  say(backend, step, `LABEL ${text}`);
  state.config.Labels = { ...state.config.Labels, ...labels };
  state.image = await backend.configure(state.image, state.config,
    `/bin/sh -c #(nop) LABEL ${text}`);
  backend.say(` ---> ${shortId(state.image)}\n`);
  return state.image;
}

function cacheKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

/** RUN, COPY and ADD: a container's change, committed as a layer. */
async function fileStep(ins: Instruction, state: State, opts: BuildOptions,
  backend: BuildBackend, built: Map<string, string>, vars: Lookup)
  : Promise<void> {
  const c = state.config;
  const step: FileStep = { parent: state.image, config: c, createdBy: '' };
  if (ins.cmd === 'RUN') {
    const argv = ins.json ? [...ins.json] : [...state.shell, ins.text];
    // ARG values reach RUN's environment, not the image's (docker's
    // reference: "ARG ... is not persisted").
    const args = [...state.args].filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    step.run = { argv, env: [...args, ...(c.Env ?? [])],
      user: c.User ?? '', workdir: c.WorkingDir ?? '/' };
    step.createdBy = ins.json ? argv.join(' ')
      : `${state.shell.join(' ')} ${ins.text}`;
  } else {
    const words = ins.json ? [...ins.json]
      : expandWords(ins.text, vars, state.escape);
    if (words.length < 2) {
      throw new BuildError(`${ins.cmd} requires at least two arguments`);
    }
    const from = ins.flags.from;
    step.copy = { sources: words.slice(0, -1), dest: words.at(-1)!,
      from: from === undefined ? undefined : built.get(from.toLowerCase())
        ?? from,
      chown: ins.flags.chown, chmod: ins.flags.chmod,
      add: ins.cmd === 'ADD', workdir: c.WorkingDir ?? '/' };
    step.createdBy = `/bin/sh -c #(nop) ${ins.original}`;
  }
  const content = step.copy ? await backend.sourcesHash(step) : '';
  const key = cacheKey(state.image, step.createdBy, content,
    JSON.stringify(step.run?.env ?? []));
  const hit = opts.noCache ? undefined : backend.cacheGet(key);
  if (hit) {
    backend.say(' ---> Using cache\n');
    state.image = hit;
  } else {
    state.image = await backend.change(step);
    backend.cacheSet(key, state.image);
  }
  if (!state.trigger) backend.say(` ---> ${shortId(state.image)}\n`);
}
