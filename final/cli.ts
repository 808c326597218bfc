// skiff's command line: a thin client of the daemon's REST API.
//
//   sudo npx tsx final/cli.ts run --rm -it busybox sh
//
// It parses the global flags, loads only the one command file it needs
// (start-up time is the CLI's main cost), starts a daemon if its first
// request finds none, and turns every error into one line and docker's
// exit code.
import { Client } from './client.ts';
import { OBJECT_COMMANDS } from './commands/objects.ts';
import type { Command } from './commands/command.ts';
import { formatFlags, parseFlags, UsageError, type FlagSpec } from
  './flags.ts';

type Loader = () => Promise<{ default: Command }>;

// #region registry
const COMMANDS: Record<string, Loader> = {
  run: () => import('./commands/run.ts'),
  create: () => import('./commands/create.ts'),
  start: () => import('./commands/start.ts'),
  stop: () => import('./commands/stop.ts'),
  restart: () => import('./commands/restart.ts'),
  kill: () => import('./commands/kill.ts'),
  rm: () => import('./commands/rm.ts'),
  wait: () => import('./commands/wait.ts'),
  ps: () => import('./commands/ps.ts'),
  logs: () => import('./commands/logs.ts'),
  inspect: () => import('./commands/inspect.ts'),
  attach: () => import('./commands/attach.ts'),
  exec: () => import('./commands/exec.ts'),
  top: () => import('./commands/top.ts'),
  stats: () => import('./commands/stats.ts'),
  pause: () => import('./commands/pause.ts'),
  unpause: () => import('./commands/unpause.ts'),
  rename: () => import('./commands/rename.ts'),
  update: () => import('./commands/update.ts'),
  diff: () => import('./commands/diff.ts'),
  daemon: () => import('./commands/daemon.ts'),
  ...Object.fromEntries(Object.entries(OBJECT_COMMANDS)
    .map(([name, c]) => [name, c.load])),
};
// #endregion

const SUMMARIES: Record<string, string> = {
  run: 'Create and run a new container from an image',
  create: 'Create a new container',
  start: 'Start one or more stopped containers',
  stop: 'Stop one or more running containers',
  restart: 'Restart one or more containers',
  kill: 'Kill one or more running containers',
  rm: 'Remove one or more containers',
  wait: 'Block until containers stop, then print their exit codes',
  ps: 'List containers',
  logs: 'Fetch the logs of a container',
  inspect: 'Return low-level information on skiff objects',
  attach: 'Attach to a running container\'s input and output',
  exec: 'Execute a command in a running container',
  top: 'Display the running processes of a container',
  stats: 'Display a live stream of container resource usage statistics',
  pause: 'Pause all processes within one or more containers',
  unpause: 'Unpause all processes within one or more containers',
  rename: 'Rename a container',
  update: 'Update configuration of one or more containers',
  diff: 'Inspect changes to files or directories on a container\'s ' +
    'filesystem',
  daemon: 'Run the skiff daemon in the foreground',
  ...Object.fromEntries(Object.entries(OBJECT_COMMANDS)
    .map(([name, c]) => [name, c.summary])),
};

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'host', short: 'H', kind: 'string', value: 'path',
    help: 'Daemon socket to connect to (env SKIFF_SOCK)' },
  { name: 'root', kind: 'string', value: 'dir',
    help: 'Engine state directory (env SKIFF_ROOT)' },
  { name: 'debug', short: 'D', kind: 'bool', help: 'Print stack traces' },
  { name: 'help', kind: 'bool', help: 'Print usage' },
  { name: 'version', short: 'v', kind: 'bool',
    help: 'Print version information and quit' },
];

function mainHelp(): string {
  const names = Object.keys(SUMMARIES);
  const width = Math.max(...names.map((n) => n.length)) + 3;
  return 'Usage:  skiff [OPTIONS] COMMAND\n\n' +
    'A container engine in TypeScript\n\nCommands:\n' +
    names.map((n) => `  ${n.padEnd(width)}${SUMMARIES[n]}`).join('\n') +
    `\n\nGlobal Options:\n${formatFlags(GLOBAL_FLAGS)}\n\n` +
    'Run \'skiff COMMAND --help\' for more information on a command.\n';
}

function commandHelp(path: string, cmd: Command): string {
  let text = `Usage:  skiff ${cmd.usage}\n\n${cmd.summary}\n`;
  if (cmd.sub) {
    text += '\nCommands:\n' + Object.keys(cmd.sub)
      .map((n) => `  ${n}`).join('\n') + '\n\n' +
      `Run 'skiff ${path} COMMAND --help' for more information.\n`;
  }
  const flags = [...cmd.flags, { name: 'help', kind: 'bool',
    help: 'Print usage' } as FlagSpec];
  return text + `\nOptions:\n${formatFlags(flags)}\n`;
}

// #region main (unused)
// #region main-dispatch
async function main(argv: string[]): Promise<number> {
  const global = parseFlags(argv, GLOBAL_FLAGS);
  if (global.flags.root) process.env.SKIFF_ROOT = String(global.flags.root);
  if (global.flags.host) {
    process.env.SKIFF_SOCK = String(global.flags.host)
      .replace(/^unix:\/\//, '');
  }
  if (global.flags.debug) process.env.SKIFF_DEBUG = '1';
  if (global.flags.version) argv = ['version'];
  else argv = global.args;
  const [name, ...rest] = argv;
  if (!name || global.flags.help) {
    process.stdout.write(mainHelp());
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    throw new UsageError(`'${name}' is not a skiff command ` +
      `(see 'skiff --help')`);
  }
  return runCommand(name, (await load()).default, rest);
}
// #endregion

async function runCommand(path: string, cmd: Command, argv: string[])
  : Promise<number> {
  if (cmd.sub && argv[0] && !argv[0].startsWith('-')) {
    const load = cmd.sub[argv[0]];
    if (!load) {
      throw new UsageError(`'${path} ${argv[0]}' is not a skiff command ` +
        `(see 'skiff ${path} --help')`);
    }
    return runCommand(`${path} ${argv[0]}`, (await load()).default,
      argv.slice(1));
  }
  const specs = [...cmd.flags, { name: 'help', kind: 'bool', help: '' }
    ] as FlagSpec[];
  let p;
  try {
    p = parseFlags(argv, specs, cmd.interspersed ?? true);
  } catch (err) {
    if (err instanceof UsageError) {
      err.message += ` (see 'skiff ${path} --help')`;
    }
    throw err;
  }
  if (p.flags.help || !cmd.run) {
    process.stdout.write(commandHelp(path, cmd));
    return 0;
  }
  checkArgCount(path, cmd, p.args.length);
  const client = new Client();
  client.startsDaemon = true; // by the first request, if none listens
  return cmd.run(p, { client, out: (t) => process.stdout.write(t) });
}
// #endregion

function checkArgCount(path: string, cmd: Command, n: number): void {
  const plural = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
  const see = `(see 'skiff ${path} --help')`;
  if (cmd.minArgs !== undefined && n < cmd.minArgs) {
    throw new UsageError(cmd.minArgs === cmd.maxArgs
      ? `"skiff ${path}" requires exactly ${plural(cmd.minArgs)} ${see}`
      : `"skiff ${path}" requires at least ${plural(cmd.minArgs)} ${see}`);
  }
  if (cmd.maxArgs !== undefined && n > cmd.maxArgs) {
    throw new UsageError(cmd.maxArgs === 0
      ? `"skiff ${path}" accepts no arguments ${see}`
      : `"skiff ${path}" accepts at most ${plural(cmd.maxArgs)} ${see}`);
  }
}

// #region errors
/** The one place an error becomes a line on stderr and an exit code. */
function fail(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`skiff: ${message}\n`);
  if (process.env.SKIFF_DEBUG && err instanceof Error) console.error(err);
  const code = (err as { exitCode?: unknown })?.exitCode;
  return typeof code === 'number' ? code : 125;
}
// #endregion

// Exit at once, once what we wrote is out: a pending request (run's
// wait, a log follower) must not keep us alive. A pipe's writes are not
// always synchronous (a full pipe queues the rest), and process.exit()
// drops what is queued: a write's callback runs after all before it.
const exit = (code: number) => process.stdout.write('', () =>
  process.stderr.write('', () => process.exit(code)));
main(process.argv.slice(2)).then(exit, (err) => exit(fail(err)));
