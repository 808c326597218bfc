// skiff kill: send a signal (SIGKILL unless -s says otherwise).
import type { Command } from './command.ts';
import { forEach, q, str } from './command.ts';

const command: Command = {
  usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Kill one or more running containers',
  flags: [{ name: 'signal', short: 's', kind: 'string',
    help: 'Signal to send to the container', default: 'KILL' }],
  minArgs: 1,
  async run(p, ctx) {
    const sig = str(p, 'signal') ?? 'KILL';
    return forEach(p.args, (name) => ctx.client.call('POST',
      `/containers/${q(name)}/kill?signal=${q(sig)}`), ctx);
  },
};
export default command;
