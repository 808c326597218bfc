// skiff push: an image to a registry, with docker's progress lines.
import type { Command } from './command.ts';
import { bool, q } from './command.ts';
import { printProgress } from './pull.ts';

const command: Command = {
  usage: 'push [OPTIONS] NAME[:TAG]',
  summary: 'Upload an image to a registry',
  flags: [{ name: 'quiet', short: 'q', kind: 'bool',
    help: 'Suppress verbose output' }],
  minArgs: 1,
  maxArgs: 1,
  async run(p, ctx) {
    const ref = p.args[0];
    const slash = ref.lastIndexOf('/');
    const colon = ref.lastIndexOf(':');
    // "name" alone pushes name:latest, as docker's CLI does
    const [name, tag] = colon > slash
      ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
    const res = await ctx.client.stream('POST',
      `/images/${q(name)}/push?tag=${q(tag)}`);
    await printProgress(res, bool(p, 'quiet') ? () => {} : ctx.out);
    return 0;
  },
};
export default command;
