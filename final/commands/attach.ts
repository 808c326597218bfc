// skiff attach: our terminal to a running container's streams.
import type { Command } from './command.ts';
import { bool, q } from './command.ts';
import { checkTty, openAttach, pump, resizeTty } from './streams.ts';

const command: Command = {
  usage: 'attach [OPTIONS] CONTAINER',
  summary: 'Attach local standard input, output, and error streams to a ' +
    'running container',
  flags: [{ name: 'no-stdin', kind: 'bool',
    help: 'Do not attach STDIN' }],
  minArgs: 1,
  maxArgs: 1,
  async run(p, ctx) {
    const c = await ctx.client.call('GET', `/containers/${q(p.args[0])}/json`);
    if (!c.State.Running) {
      throw new Error('You cannot attach to a stopped container, start it ' +
        'first');
    }
    const opts = { id: c.Id, tty: !!c.Config.Tty,
      stdin: !bool(p, 'no-stdin') && !!c.Config.OpenStdin };
    checkTty(opts.stdin, opts.tty);
    const exit = ctx.client.call('POST', `/containers/${c.Id}/wait`);
    const sock = await openAttach(ctx.client, opts);
    if (opts.tty) await resizeTty(ctx.client, c.Id);
    if (await pump(ctx.client, sock, opts) === 'detached') return 0;
    return (await exit).StatusCode;
  },
};
export default command;
