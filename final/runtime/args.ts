// runc's command line, as urfave/cli parses it: global flags, a
// command, its flags and its arguments. Long flags come with one dash
// or two, their value as the next word or after "=" (podman's
// --runtime-flag gives "--k=v"). For exec, everything after the
// container id is the command.
import { RuntimeError } from './store.ts';

export interface Parsed {
  command: string;
  flags: Record<string, string | boolean | string[]>;
  args: string[];
}

interface FlagSet {
  bools: string[];
  values: string[];
  /** Flags that may repeat (exec --env). */
  lists?: string[];
  short?: Record<string, string>;
}

// #region flag-sets
const GLOBAL: FlagSet = {
  bools: ['debug', 'systemd-cgroup', 'version', 'help'],
  values: ['root', 'log', 'log-format', 'criu', 'rootless'],
  short: { v: 'version', h: 'help' },
};

const CREATE: FlagSet = {
  bools: ['no-pivot', 'no-new-keyring'],
  values: ['bundle', 'pid-file', 'console-socket', 'preserve-fds'],
  short: { b: 'bundle' },
};
// #endregion

const FLAGS: Record<string, FlagSet> = {
  create: CREATE,
  run: { ...CREATE, bools: [...CREATE.bools, 'detach', 'keep'],
    short: { b: 'bundle', d: 'detach' } },
  start: { bools: [], values: [] },
  state: { bools: [], values: [] },
  kill: { bools: ['all'], values: [], short: { a: 'all' } },
  delete: { bools: ['force'], values: [], short: { f: 'force' } },
  exec: { bools: ['tty', 'detach', 'no-new-privs', 'ignore-paused'],
    values: ['process', 'console-socket', 'pid-file', 'cwd', 'user',
      'preserve-fds', 'process-label', 'apparmor', 'cgroup'],
    lists: ['env', 'cap', 'additional-gids'],
    short: { t: 'tty', d: 'detach', p: 'process', u: 'user', e: 'env',
      c: 'cap', g: 'additional-gids' } },
  ps: { bools: [], values: ['format'], short: { f: 'format' } },
  list: { bools: ['quiet'], values: ['format'],
    short: { f: 'format', q: 'quiet' } },
  pause: { bools: [], values: [] },
  resume: { bools: [], values: [] },
  update: { bools: [], values: ['resources'], short: { r: 'resources' } },
  events: { bools: ['stats'], values: ['interval'] },
  spec: { bools: [], values: ['bundle', 'rootless'],
    short: { b: 'bundle' } },
  features: { bools: [], values: [] },
  checkpoint: { bools: [], values: [] },
  restore: { bools: [], values: [] },
};

/** Reads flags from argv[i] on; returns where the flags stopped. */
function readFlags(argv: string[], i: number, set: FlagSet,
  into: Parsed['flags'], stopAtWord: boolean, args: string[]): number {
  while (i < argv.length) {
    const word = argv[i];
    if (word === '--') return i + 1;
    if (!word.startsWith('-') || word === '-') {
      if (stopAtWord) return i;
      args.push(word);
      i++;
      continue;
    }
    const eq = word.indexOf('=');
    const raw = word.replace(/^--?/, '').slice(0, eq < 0 ? undefined
      : eq - (word.startsWith('--') ? 2 : 1));
    const name = set.short?.[raw] ?? raw;
    const inline = eq < 0 ? undefined : word.slice(eq + 1);
    i++;
    if (set.bools.includes(name)) {
      into[name] = inline === undefined ? true : inline !== 'false';
    } else if (set.values.includes(name) || set.lists?.includes(name)) {
      const value = inline ?? argv[i++];
      if (value === undefined) {
        throw new RuntimeError(`flag needs an argument: -${raw}`);
      }
      if (set.lists?.includes(name)) {
        into[name] = [...(into[name] as string[] | undefined) ?? [], value];
      } else into[name] = value;
    } else {
      throw new RuntimeError(`flag provided but not defined: -${raw}`);
    }
  }
  return i;
}

export function parseArgs(argv: string[]): Parsed {
  const p: Parsed = { command: '', flags: {}, args: [] };
  let i = readFlags(argv, 0, GLOBAL, p.flags, true, p.args);
  p.command = argv[i++] ?? '';
  if (!p.command) {
    if (p.flags.version) return p;
    throw new RuntimeError('no command given (create, start, state, ' +
      'kill, delete, run, exec, ps, list, ...)');
  }
  const set = FLAGS[p.command];
  if (!set) throw new RuntimeError(`unknown command "${p.command}"`);
  if (p.command === 'exec') {
    // Flags, then the id, then the command with its own flags.
    i = readFlags(argv, i, set, p.flags, true, p.args);
    p.args = argv.slice(i);
    if (p.args[1] === '--') p.args.splice(1, 1);
    return p;
  }
  readFlags(argv, i, set, p.flags, false, p.args);
  return p;
}
