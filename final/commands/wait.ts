// skiff wait: block until containers stop, print their exit codes.
import type { Command } from './command.ts';
import { forEach, q } from './command.ts';

const command: Command = {
  usage: 'wait CONTAINER [CONTAINER...]',
  summary: 'Block until one or more containers stop, then print their ' +
    'exit codes',
  flags: [],
  minArgs: 1,
  async run(p, ctx) {
    return forEach(p.args, async (name) => String((await ctx.client.call(
      'POST', `/containers/${q(name)}/wait`)).StatusCode), ctx);
  },
};
export default command;
