// skiff rm: remove containers; -f kills running ones first.
import type { Command } from './command.ts';
import { bool, forEach, q } from './command.ts';

const command: Command = {
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove one or more containers',
  flags: [
    { name: 'force', short: 'f', kind: 'bool',
      help: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'volumes', short: 'v', kind: 'bool',
      help: 'Remove anonymous volumes associated with the container' },
  ],
  minArgs: 1,
  async run(p, ctx) {
    const query = `?force=${bool(p, 'force') ? 1 : 0}` +
      `&v=${bool(p, 'volumes') ? 1 : 0}`;
    return forEach(p.args, (name) => ctx.client.call('DELETE',
      `/containers/${q(name)}${query}`), ctx);
  },
};
export default command;
