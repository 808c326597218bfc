// skiff pause: freeze every process of a container (chapter 03's freezer).
import type { Command } from './command.ts';
import { forEach, q } from './command.ts';

const command: Command = {
  usage: 'pause CONTAINER [CONTAINER...]',
  summary: 'Pause all processes within one or more containers',
  flags: [],
  minArgs: 1,
  async run(p, ctx) {
    return forEach(p.args, (name) => ctx.client.call('POST',
      `/containers/${q(name)}/pause`), ctx);
  },
};
export default command;
