// skiff rename: a new name for a container, running or not.
import type { Command } from './command.ts';
import { q } from './command.ts';

const command: Command = {
  usage: 'rename CONTAINER NEW_NAME',
  summary: 'Rename a container',
  flags: [],
  minArgs: 2,
  maxArgs: 2,
  async run(p, ctx) {
    const [container, name] = p.args;
    try {
      await ctx.client.call('POST',
        `/containers/${q(container)}/rename?name=${q(name)}`);
    } catch (err) {
      // docker's words and exit status (1: the daemon said no)
      process.stderr.write(`Error response from daemon: ${
        (err as Error).message}\n`);
      return 1;
    }
    return 0;
  },
};
export default command;
