// The demos are a chain: chapter N's run.ts is chapter N-1's container
// plus one mechanism. A demo is a table of flags, the operands after
// them, and what the options make: a spec and the start steps. A later
// chapter extends the previous demo with a Layer of the same parts; the
// parsing, the start and the wait are here, once.
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitWithError } from '../01-chroot/fail.ts';
import type { Spec } from './spec.ts';
import { startContainer } from './start.ts';
import type { StartStep } from './steps.ts';

/**
 * Bad command line: exit status 125, as docker's. Without a message:
 * the operands are missing, and the usage line says what they are.
 */
export class UsageError extends Error {
  readonly exitCode = 125;
}

/** One flag. With `arg` it takes a value ("--memory 64m", "--memory=64m"). */
export interface Flag<O> {
  arg?: string;
  /** May be repeated: "[-p SPEC]..." */
  many?: boolean;
  set(o: O, value: string): void;
}

export interface Demo<O> {
  /** Every flag; two names for one Flag object are aliases. */
  flags: Record<string, Flag<O>>;
  /** The operands' usage: "<rootfs> <command> [args...]". */
  operands: string;
  /** The options before any flag. */
  options(): O;
  /** Takes the operands, the words after the last flag. */
  read(o: O, operands: string[]): void;
  /** After the flags and operands: checks that span several, warnings. */
  parsed?(o: O): void;
  /** The container's id, if the options name it (default: random). */
  id?(o: O): string | undefined;
  /** The container's configuration. */
  spec(o: O, id: string): Spec;
  /** The start steps (chapter 02's steps.ts), in order. */
  steps(o: O): StartStep[];
  /** The init's entry (StartOptions.init), if not chapter 02's. */
  init?: string;
  /** The command has exited; the container is not destroyed yet. */
  exited?(o: O): void;
}

/** What one chapter adds to the previous chapter's demo. */
export interface Layer<O, X> {
  flags?: Record<string, Flag<O>>;
  /** Its own options; may change the defaults of the previous ones. */
  options?(previous: O): X;
  /** Replaces the previous demo's operands. */
  operands?: { usage: string; read(o: O, operands: string[]): void };
  parsed?(o: O): void;
  id?(o: O): string | undefined;
  /** Changes the spec, or returns a new one. */
  spec?(spec: Spec, o: O, id: string): Spec | void;
  steps?(o: O): StartStep[];
  init?: string;
  exited?(o: O): void;
}

// #region extend
export function extend<B, X>(base: Demo<B>,
  layer: Layer<B & X, X>): Demo<B & X> {
  type O = B & X;
  return {
    flags: { ...base.flags, ...layer.flags } as Record<string, Flag<O>>,
    operands: layer.operands?.usage ?? base.operands,
    options() {
      const o = base.options() as O;
      return Object.assign(o as object, layer.options?.(o)) as O;
    },
    read: (o, words) => (layer.operands ?? base).read(o, words),
    parsed(o) {
      base.parsed?.(o);
      layer.parsed?.(o);
    },
    id: (o) => layer.id?.(o) ?? base.id?.(o),
    spec(o, id) {
      const spec = base.spec(o, id);
      return layer.spec?.(spec, o, id) ?? spec;
    },
    steps: (o) => [...base.steps(o), ...layer.steps?.(o) ?? []],
    init: layer.init ?? base.init,
    exited(o) {
      base.exited?.(o);
      layer.exited?.(o);
    },
  };
}
// #endregion

/** "usage: run.ts [--flag ARG]... <operands>", from the table. */
export function usage<O>(demo: Demo<O>): string {
  const seen = new Set<Flag<O>>();
  const words = ['usage: run.ts'];
  for (const [name, flag] of Object.entries(demo.flags)) {
    if (seen.has(flag)) continue; // an alias
    seen.add(flag);
    words.push(`[${name}${flag.arg ? ` ${flag.arg}` : ''}]` +
      (flag.many ? '...' : ''));
  }
  return [...words, demo.operands].join(' ');
}

/** Reads a command line: flags first, then the operands. */
export function parseArgs<O>(demo: Demo<O>, argv: string[]): O {
  const o = demo.options();
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    if (argv[i] === '--') {
      i++;
      break;
    }
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    const flag = Object.hasOwn(demo.flags, name) ? demo.flags[name]
      : undefined;
    if (!flag) {
      throw new UsageError(`unknown option "${name}"\n${usage(demo)}`);
    }
    if (!flag.arg && inline !== undefined) {
      throw new UsageError(`option ${name} takes no value`);
    }
    const value = flag.arg ? inline ?? argv[++i] : '';
    if (value === undefined) {
      throw new UsageError(`option ${name} needs a value`);
    }
    flag.set(o, value);
  }
  try {
    demo.read(o, argv.slice(i));
  } catch (err) {
    if (err instanceof UsageError && !err.message) {
      throw new UsageError(usage(demo), { cause: err });
    }
    throw err;
  }
  demo.parsed?.(o);
  return o;
}

// #region run
/** Starts the container, waits for its command, removes it. */
export async function runDemo<O>(demo: Demo<O>,
  argv: string[]): Promise<number> {
  const o = parseArgs(demo, argv);
  const id = demo.id?.(o) ?? randomBytes(32).toString('hex');
  const container = await startContainer(demo.spec(o, id),
    { id, steps: demo.steps(o), init: demo.init });
  // Like `docker run`, pass the signals we get on to the container.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => container.kill(sig));
  }
  try {
    const status = await container.wait();
    demo.exited?.(o);
    return status.code;
  } finally {
    await container.destroy();
  }
}
// #endregion

/**
 * Runs the demo when `url` (the caller's import.meta.url) is the file
 * node was started with: a later chapter imports the module instead.
 */
export function mainOf<O>(url: string, demo: Demo<O>): void {
  const started = process.argv[1] && realpathSync(resolve(process.argv[1]));
  if (started !== realpathSync(fileURLToPath(url))) return;
  runDemo(demo, process.argv.slice(2))
    .then((code) => process.exit(code), exitWithError);
}
