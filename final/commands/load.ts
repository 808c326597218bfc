// skiff load: images from a docker-archive or OCI layout tar.
import type { Command } from './command.ts';
import { bool, str } from './command.ts';
import { upload } from './transfer.ts';

const command: Command = {
  usage: 'load [OPTIONS]',
  summary: 'Load an image from a tar archive or STDIN',
  flags: [
    { name: 'input', short: 'i', kind: 'string', value: 'string',
      help: 'Read from tar archive file, instead of STDIN' },
    { name: 'quiet', short: 'q', kind: 'bool',
      help: 'Suppress the load output' },
  ],
  maxArgs: 0,
  async run(p, ctx) {
    const input = str(p, 'input') ?? '-';
    if (input === '-' && process.stdin.isTTY) {
      throw new Error('requested load from stdin, but stdin is empty');
    }
    const text = await upload(ctx.client, 'POST', '/images/load', input);
    for (const line of text.split('\n').filter(Boolean)) {
      const m = JSON.parse(line);
      if (m.error) throw new Error(m.error);
      if (m.stream && !bool(p, 'quiet')) ctx.out(m.stream);
    }
    return 0;
  },
};
export default command;
