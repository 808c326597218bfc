// skiff-runtime: skiff as an OCI runtime, with runc's command line, so
// that containerd's shim, podman's conmon and the OCI's own test suite
// can drive it (`ctr run --runc-binary final/skiff-runtime ...`). Each
// command is one process; what lasts between them is the kernel's (the
// container's processes and cgroup) and a directory per container under
// --root. This file only parses arguments and reports errors; each
// command is a module of final/runtime/.
import { appendFileSync } from 'node:fs';
import { runcWords } from '../chapters/01-chroot/chroot.ts';
import { create } from './runtime/create.ts';
import { remove } from './runtime/delete.ts';
import { statsEvent } from './runtime/events.ts';
import { exec } from './runtime/exec.ts';
import { features } from './runtime/features.ts';
import { kill } from './runtime/kill.ts';
import { list, ps, state } from './runtime/list.ts';
import { pause, resume } from './runtime/pause.ts';
import { run } from './runtime/run.ts';
import { writeSpec } from './runtime/spec.ts';
import { start } from './runtime/start.ts';
import {
  DEFAULT_ROOT, OCI_VERSION, RuntimeError, Store,
} from './runtime/store.ts';
import { update } from './runtime/update.ts';
import { parseArgs, type Parsed } from './runtime/args.ts';

export const VERSION = '0.1.0';

interface Globals {
  store: Store;
  log?: string;
  json: boolean;
  debug: boolean;
}

/** Writes to --log (runc's logrus shapes) and, for errors, stderr. */
function logger(g: Pick<Globals, 'log' | 'json'>) {
  return (level: 'error' | 'warning' | 'debug', msg: string) => {
    if (level !== 'debug') process.stderr.write(`skiff-runtime: ${msg}\n`);
    if (!g.log) return;
    const time = new Date().toISOString();
    const line = g.json ? JSON.stringify({ level, msg, time })
      : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    try {
      appendFileSync(g.log, `${line}\n`);
    } catch { /* a log we cannot write must not hide the error */ }
  };
}

type Command = (g: Globals, p: Parsed, warn: (m: string) => void)
  => Promise<number | void> | number | void;

const str = (p: Parsed, name: string) => p.flags[name] as string | undefined;
const bool = (p: Parsed, name: string) => p.flags[name] === true;
const list_ = (p: Parsed, name: string) =>
  (p.flags[name] as string[] | undefined) ?? [];

function needId(p: Parsed): string {
  const id = p.args[0];
  if (!id) throw new RuntimeError(`${p.command}: a container id is needed`);
  return id;
}

// #region commands
const COMMANDS: Record<string, Command> = {
  async create(g, p) {
    await create(g.store, needId(p), createOptions(p));
  },
  start: (g, p, warn) => start(g.store, needId(p), warn).then(() => {}),
  run: (g, p, warn) => run(g.store, needId(p),
    { ...createOptions(p), detach: bool(p, 'detach') }, warn),
  state(g, p) { print(state(g.store, needId(p))); },
  kill(g, p) {
    kill(g.store, needId(p), p.args[1] ?? 'SIGTERM', bool(p, 'all'));
  },
  delete: (g, p, warn) => remove(g.store, needId(p), bool(p, 'force'),
    warn),
  // #endregion
  exec: (g, p) => exec(g.store, needId(p), {
    process: str(p, 'process'), args: p.args.slice(1),
    tty: bool(p, 'tty'), consoleSocket: str(p, 'console-socket'),
    detach: bool(p, 'detach'), pidFile: str(p, 'pid-file'),
    cwd: str(p, 'cwd'), env: list_(p, 'env'), user: str(p, 'user'),
    caps: list_(p, 'cap'), noNewPrivs: bool(p, 'no-new-privs'),
    additionalGids: list_(p, 'additional-gids'),
    apparmor: str(p, 'apparmor'), processLabel: str(p, 'process-label'),
    ...refused(p, ['cgroup', 'preserve-fds']),
  }).then((code) => code ?? 0),
  ps(g, p) {
    print(ps(g.store, needId(p), str(p, 'format'), p.args.slice(1)));
  },
  list(g, p) {
    const out = list(g.store, str(p, 'format'));
    print(bool(p, 'quiet') ? g.store.ids().join('\n') : out);
  },
  pause: (g, p) => pause(g.store, needId(p)),
  resume: (g, p) => resume(g.store, needId(p)),
  update(g, p) {
    const r = str(p, 'resources');
    if (!r) throw new RuntimeError('update: only --resources is supported');
    return update(g.store, needId(p), r);
  },
  events(g, p) {
    if (!bool(p, 'stats')) {
      throw new RuntimeError('events: only --stats is supported');
    }
    print(statsEvent(g.store, needId(p)));
  },
  spec(_g, p) { writeSpec(str(p, 'bundle')); },
  features() { print(features()); },
  checkpoint() { throw new RuntimeError(NO_CRIU); },
  restore() { throw new RuntimeError(NO_CRIU); },
};

const NO_CRIU = 'checkpoint and restore are not supported (skiff has no ' +
  'CRIU support)';

/** runc's flags skiff-runtime has no use for: a clear no, not silence. */
function refused(p: Parsed, names: string[]): object {
  for (const name of names) {
    const v = p.flags[name];
    if (v !== undefined && !(name === 'preserve-fds' && v === '0')) {
      throw new RuntimeError(`--${name}: not supported by skiff-runtime`);
    }
  }
  return {};
}

function createOptions(p: Parsed) {
  refused(p, ['preserve-fds']);
  return { bundle: str(p, 'bundle') ?? '.', pidFile: str(p, 'pid-file'),
    consoleSocket: str(p, 'console-socket') };
}

function print(text: string): void {
  if (text) process.stdout.write(`${text}\n`);
}

// #region main
export async function main(argv: string[]): Promise<number> {
  let log = logger({ json: false });
  try {
    const p = parseArgs(argv);
    const g: Globals = { store: new Store(str(p, 'root') ?? DEFAULT_ROOT),
      log: str(p, 'log'), json: str(p, 'log-format') === 'json',
      debug: bool(p, 'debug') };
    log = logger(g);
    if (bool(p, 'version')) {
      print(`skiff-runtime version ${VERSION}\nspec: ${OCI_VERSION}`);
      return 0;
    }
    if (bool(p, 'systemd-cgroup')) {
      throw new RuntimeError('--systemd-cgroup: not supported; ' +
        'skiff-runtime manages cgroupfs paths only');
    }
    if (g.debug) log('debug', `argv: ${JSON.stringify(argv)}`);
    const command = COMMANDS[p.command];
    if (!command) throw new RuntimeError(`unknown command "${p.command}"`);
    const code = await command(g, p, (m) => log('warning', m));
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    log('error', runcWords((err as Error)?.message ?? String(err)));
    if (process.env.SKIFF_DEBUG) console.error(err);
    return 1;
  }
}
// #endregion

if (/\/final\/runtime\.ts$/.test(process.argv[1] ?? '')) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
