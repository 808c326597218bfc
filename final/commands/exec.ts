// skiff exec: run a command in a running container. Docker's two calls:
// create the exec instance, then start it on a taken-over connection;
// its exit code comes from inspecting it afterwards.
import type { Command } from './command.ts';
import { bool, list, q, str } from './command.ts';
import {
  checkTty, consoleSize, pump, resizeTty, type AttachOptions,
} from './streams.ts';

const command: Command = {
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  summary: 'Execute a command in a running container',
  flags: [
    { name: 'detach', short: 'd', kind: 'bool',
      help: 'Detached mode: run command in the background' },
    { name: 'interactive', short: 'i', kind: 'bool',
      help: 'Keep STDIN open even if not attached' },
    { name: 'tty', short: 't', kind: 'bool', help: 'Allocate a pseudo-TTY' },
    { name: 'env', short: 'e', kind: 'list',
      help: 'Set environment variables' },
    { name: 'workdir', short: 'w', kind: 'string',
      help: 'Working directory inside the container' },
    { name: 'user', short: 'u', kind: 'string',
      help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
    { name: 'privileged', kind: 'bool',
      help: 'Give extended privileges to the command' },
  ],
  minArgs: 2,
  interspersed: false,
  // #region exec
  async run(p, ctx) {
    const [name, ...cmd] = p.args;
    const { client } = ctx;
    const tty = bool(p, 'tty');
    const stdin = bool(p, 'interactive');
    const detach = bool(p, 'detach');
    if (!detach) checkTty(stdin, tty);
    const env = list(p, 'env').map((kv) => kv.includes('=') ? kv
      : `${kv}=${process.env[kv] ?? ''}`);
    const { Id: id } = await client.call('POST',
      `/containers/${q(name)}/exec`, {
        AttachStdin: stdin && !detach, AttachStdout: !detach,
        AttachStderr: !detach, Tty: tty, Env: env, Cmd: cmd,
        ConsoleSize: tty ? consoleSize() : undefined,
        WorkingDir: str(p, 'workdir') ?? '', User: str(p, 'user') ?? '',
        Privileged: bool(p, 'privileged'),
      });
    if (detach) {
      await client.call('POST', `/exec/${id}/start`, { Detach: true });
      return 0;
    }
    const sock = await client.upgrade(`/exec/${id}/start`,
      { Detach: false, Tty: tty });
    const opts: AttachOptions = { id, tty, stdin, exec: true };
    const streamed = pump(client, sock, opts);
    if (tty) await resizeTty(client, id, true);
    if (await streamed === 'detached') return 0;
    const info = await client.call('GET', `/exec/${id}/json`);
    return info.ExitCode ?? 0;
  },
  // #endregion
};

export default command;
