// skiff unpause: thaw a paused container's processes.
import type { Command } from './command.ts';
import { forEach, q } from './command.ts';

const command: Command = {
  usage: 'unpause CONTAINER [CONTAINER...]',
  summary: 'Unpause all processes within one or more containers',
  flags: [],
  minArgs: 1,
  async run(p, ctx) {
    return forEach(p.args, (name) => ctx.client.call('POST',
      `/containers/${q(name)}/unpause`), ctx);
  },
};
export default command;
