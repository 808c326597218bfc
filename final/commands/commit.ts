// skiff commit: a container's changes become a new image.
import { withQuery } from '../client.ts';
import type { Command } from './command.ts';
import { list, str } from './command.ts';

const command: Command = {
  usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  summary: 'Create a new image from a container\'s changes',
  flags: [
    { name: 'author', short: 'a', kind: 'string', value: 'string',
      help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'change', short: 'c', kind: 'list', value: 'list',
      help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', value: 'string',
      help: 'Commit message' },
    { name: 'pause', short: 'p', kind: 'bool', default: 'true',
      help: 'Pause container during commit (accepted; skiff copies ' +
        'the upper layer without pausing)' },
  ],
  minArgs: 1,
  maxArgs: 2,
  async run(p, ctx) {
    const [container, ref] = p.args;
    let repo = ref, tag: string | undefined;
    const colon = ref?.lastIndexOf(':') ?? -1;
    if (ref && colon > ref.lastIndexOf('/')) {
      repo = ref.slice(0, colon);
      tag = ref.slice(colon + 1);
    }
    const changes = list(p, 'change')
      .map((c) => `&changes=${encodeURIComponent(c)}`).join('');
    const r = await ctx.client.call<{ Id: string }>('POST', withQuery(
      '/commit', { container, repo, tag, comment: str(p, 'message'),
        author: str(p, 'author') }) + changes);
    ctx.out(`${r.Id}\n`);
    return 0;
  },
};
export default command;
