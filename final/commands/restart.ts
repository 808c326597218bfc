// skiff restart: stop (with -t), then start.
import type { Command } from './command.ts';
import { forEach, q, str } from './command.ts';

const command: Command = {
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Restart one or more containers',
  flags: [{ name: 'time', short: 't', kind: 'string', value: 'int',
    help: 'Seconds to wait before killing the container' }],
  minArgs: 1,
  async run(p, ctx) {
    const t = str(p, 'time');
    return forEach(p.args, (name) => ctx.client.call('POST',
      `/containers/${q(name)}/restart${t ? `?t=${q(t)}` : ''}`), ctx);
  },
};
export default command;
