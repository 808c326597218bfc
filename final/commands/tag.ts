// skiff tag: another name for an image.
import { withQuery } from '../client.ts';
import type { Command } from './command.ts';
import { q } from './command.ts';

const command: Command = {
  usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  flags: [],
  minArgs: 2,
  maxArgs: 2,
  async run(p, ctx) {
    const [source, target] = p.args;
    const slash = target.lastIndexOf('/');
    const colon = target.lastIndexOf(':');
    const [repo, tag] = colon > slash
      ? [target.slice(0, colon), target.slice(colon + 1)] : [target, ''];
    await ctx.client.call('POST', withQuery(`/images/${q(source)}/tag`,
      { repo, tag: tag || undefined }));
    return 0;
  },
};
export default command;
