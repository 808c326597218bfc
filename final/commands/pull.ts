// skiff pull: an image from a registry, with docker's progress lines.
import type http from 'node:http';
import type { Client } from '../client.ts';
import type { Command } from './command.ts';
import { bool, q } from './command.ts';

const command: Command = {
  usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'Download an image from a registry',
  flags: [{ name: 'quiet', short: 'q', kind: 'bool',
    help: 'Suppress verbose output' }],
  minArgs: 1,
  maxArgs: 1,
  async run(p, ctx) {
    const quiet = bool(p, 'quiet');
    await pullImage(ctx.client, p.args[0], quiet ? () => {} : ctx.out);
    if (quiet) ctx.out(`${p.args[0]}\n`);
    return 0;
  },
};
export default command;

/** Pulls `ref` through the daemon, writing docker's lines to `write`. */
export async function pullImage(client: Client, ref: string,
  write: (text: string) => void): Promise<void> {
  const res = await client.stream('POST',
    `/images/create?fromImage=${q(ref)}`);
  await printProgress(res, write);
}

/**
 * docker's JSON progress messages as its CLI prints them without a
 * terminal: `id: status` lines, no progress bars. An `error` message
 * (a failure after the stream began) is thrown.
 */
export async function printProgress(res: http.IncomingMessage,
  write: (text: string) => void): Promise<void> {
  let rest = '';
  for await (const chunk of res) {
    const lines = (rest + String(chunk)).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const m = JSON.parse(line);
      if (m.error) throw new Error(m.error);
      if (!m.status || m.progressDetail?.current !== undefined) continue;
      write(m.id ? `${m.id}: ${m.status}\n` : `${m.status}\n`);
    }
  }
}
