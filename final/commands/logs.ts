// skiff logs: what the daemon kept, stdout to stdout, stderr to stderr.
import type { Command } from './command.ts';
import { bool, q, str } from './command.ts';
import { Demuxer } from '../stdcopy.ts';

const command: Command = {
  usage: 'logs [OPTIONS] CONTAINER',
  summary: 'Fetch the logs of a container',
  flags: [
    { name: 'follow', short: 'f', kind: 'bool', help: 'Follow log output' },
    { name: 'tail', short: 'n', kind: 'string',
      help: 'Number of lines to show from the end of the logs',
      default: 'all' },
    { name: 'timestamps', short: 't', kind: 'bool',
      help: 'Show timestamps' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(p, ctx) {
    const id = q(p.args[0]);
    const c = await ctx.client.call('GET', `/containers/${id}/json`);
    const query = `stdout=1&stderr=1&tail=${q(str(p, 'tail') ?? 'all')}` +
      (bool(p, 'follow') ? '&follow=1' : '') +
      (bool(p, 'timestamps') ? '&timestamps=1' : '');
    const res = await ctx.client.stream('GET',
      `/containers/${id}/logs?${query}`);
    const demux = new Demuxer();
    for await (const chunk of res) {
      if (c.Config.Tty) {
        process.stdout.write(chunk as Buffer);
        continue;
      }
      demux.push(chunk as Buffer, (stream, data) =>
        (stream === 2 ? process.stderr : process.stdout).write(data));
    }
    return 0;
  },
};
export default command;
