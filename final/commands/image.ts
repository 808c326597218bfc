// skiff image ls|rm|load|save|import|tag|history|inspect|prune: docker's
// management command, the same command files under other names.
import type { Command } from './command.ts';
import { bool, inspectCommand, q } from './command.ts';

const inspect = inspectCommand('image', (n) => `/images/${q(n)}/json`);

const prune: Command = {
  usage: 'image prune [OPTIONS]',
  summary: 'Remove unused images',
  flags: [
    { name: 'all', short: 'a', kind: 'bool',
      help: 'Remove all unused images, not just dangling ones' },
    { name: 'force', short: 'f', kind: 'bool',
      help: 'Do not prompt for confirmation' },
  ],
  maxArgs: 0,
  async run(p, ctx) {
    const filters = bool(p, 'all')
      ? `?filters=${encodeURIComponent('{"dangling":["false"]}')}` : '';
    const r = await ctx.client.call('POST', `/images/prune${filters}`);
    const lines = (r.ImagesDeleted ?? []).map(
      (d: { Untagged?: string; Deleted?: string }) => d.Untagged
        ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted}`);
    if (lines.length) ctx.out(`Deleted Images:\n${lines.join('\n')}\n\n`);
    ctx.out('Total reclaimed space: 0B\n');
    return 0;
  },
};

const command: Command = {
  usage: 'image COMMAND',
  summary: 'Manage images',
  flags: [],
  sub: {
    ls: () => import('./images.ts'),
    list: () => import('./images.ts'),
    rm: () => import('./rmi.ts'),
    remove: () => import('./rmi.ts'),
    load: () => import('./load.ts'),
    save: () => import('./save.ts'),
    import: () => import('./import.ts'),
    tag: () => import('./tag.ts'),
    history: () => import('./history.ts'),
    inspect: async () => ({ default: inspect }),
    prune: async () => ({ default: prune }),
  },
};
export default command;
