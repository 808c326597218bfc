// skiff rmi: untag images and delete those no name and no container
// holds any more.
import type { Command } from './command.ts';
import { bool, forEach, q } from './command.ts';

const command: Command = {
  usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Remove one or more images',
  flags: [{ name: 'force', short: 'f', kind: 'bool',
    help: 'Force removal of the image' }],
  minArgs: 1,
  async run(p, ctx) {
    const force = bool(p, 'force') ? '?force=1' : '';
    return forEach(p.args, async (name) => {
      const r = await ctx.client.call<{ Untagged?: string;
        Deleted?: string }[]>('DELETE', `/images/${q(name)}${force}`);
      return r.map((x) => x.Untagged ? `Untagged: ${x.Untagged}`
        : `Deleted: ${x.Deleted}`).join('\n');
    }, ctx);
  },
};
export default command;
