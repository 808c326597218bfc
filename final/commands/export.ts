// skiff export: a container's filesystem as a tar.
import type { Command } from './command.ts';
import { q, str } from './command.ts';
import { download } from './transfer.ts';

const command: Command = {
  usage: 'export [OPTIONS] CONTAINER',
  summary: 'Export a container\'s filesystem as a tar archive',
  flags: [{ name: 'output', short: 'o', kind: 'string', value: 'string',
    help: 'Write to a file, instead of STDOUT' }],
  minArgs: 1,
  maxArgs: 1,
  async run(p, ctx) {
    await download(ctx.client, `/containers/${q(p.args[0])}/export`,
      str(p, 'output'));
    return 0;
  },
};
export default command;
