// skiff stop: SIGTERM (or the stop signal), then SIGKILL after -t secs.
import type { Command } from './command.ts';
import { forEach, q, str } from './command.ts';

const command: Command = {
  usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop one or more running containers',
  flags: [
    { name: 'time', short: 't', kind: 'string', value: 'int',
      help: 'Seconds to wait before killing the container' },
    { name: 'signal', short: 's', kind: 'string',
      help: 'Signal to send to the container' },
  ],
  minArgs: 1,
  async run(p, ctx) {
    const t = str(p, 'time');
    const s = str(p, 'signal');
    const query = [t && `t=${q(t)}`, s && `signal=${q(s)}`]
      .filter(Boolean).join('&');
    return forEach(p.args, (name) => ctx.client.call('POST',
      `/containers/${q(name)}/stop${query ? `?${query}` : ''}`), ctx);
  },
};
export default command;
