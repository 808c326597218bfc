// skiff start: start stopped containers; -a attaches to the first.
import type { Command } from './command.ts';
import { bool, forEach, q } from './command.ts';
import {
  checkTty, openAttach, pump, resizeTty, startFailureCode,
} from './streams.ts';
import { ApiError } from '../client.ts';

const command: Command = {
  usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Start one or more stopped containers',
  flags: [
    { name: 'attach', short: 'a', kind: 'bool',
      help: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'interactive', short: 'i', kind: 'bool',
      help: 'Attach container\'s STDIN' },
  ],
  minArgs: 1,
  async run(p, ctx) {
    if (bool(p, 'attach') || bool(p, 'interactive')) {
      const c = await ctx.client.call('GET',
        `/containers/${q(p.args[0])}/json`);
      const opts = { id: c.Id, tty: !!c.Config.Tty,
        stdin: bool(p, 'interactive') };
      checkTty(opts.stdin, opts.tty);
      const sock = await openAttach(ctx.client, opts);
      const exit = ctx.client.call('POST',
        `/containers/${c.Id}/wait?condition=next-exit`);
      const streamed = pump(ctx.client, sock, opts);
      try {
        await ctx.client.call('POST', `/containers/${c.Id}/start`);
      } catch (err) {
        sock.destroy();
        if (err instanceof ApiError) err.exitCode =
          startFailureCode(err.message, err.exitCode);
        throw err;
      }
      if (opts.tty) await resizeTty(ctx.client, c.Id);
      if (await streamed === 'detached') return 0;
      return (await exit).StatusCode;
    }
    return forEach(p.args, (name) =>
      ctx.client.call('POST', `/containers/${q(name)}/start`), ctx);
  },
};
export default command;
