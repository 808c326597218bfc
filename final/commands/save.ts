// skiff save: images to a docker-archive tar (skopeo and docker load
// read it), or with --format oci an OCI layout.
import type { Command } from './command.ts';
import { q, str } from './command.ts';
import { download } from './transfer.ts';

const command: Command = {
  usage: 'save [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Save one or more images to a tar archive (streamed to ' +
    'STDOUT by default)',
  flags: [
    { name: 'output', short: 'o', kind: 'string', value: 'string',
      help: 'Write to a file, instead of STDOUT' },
    { name: 'format', kind: 'string', value: 'string',
      help: 'Archive format: "docker" (default) or "oci"' },
  ],
  minArgs: 1,
  async run(p, ctx) {
    const format = str(p, 'format') ?? 'docker';
    if (format !== 'docker' && format !== 'oci') {
      throw new Error(`invalid format "${format}": docker or oci`);
    }
    const names = p.args.map((n) => `names=${q(n)}`).join('&');
    await download(ctx.client, `/images/get?${names}&format=${format}`,
      str(p, 'output'));
    return 0;
  },
};
export default command;
