// skiff system prune|info.
import type { Command } from './command.ts';
import { bool } from './command.ts';

const prune: Command = {
  usage: 'system prune [OPTIONS]',
  summary: 'Remove unused data: stopped containers (and, with --volumes, ' +
    'anonymous volumes no container uses)',
  flags: [
    { name: 'force', short: 'f', kind: 'bool',
      help: 'Do not prompt for confirmation' },
    { name: 'volumes', kind: 'bool', help: 'Prune anonymous volumes' },
  ],
  maxArgs: 0,
  async run(p, ctx) {
    const c = await ctx.client.call('POST', '/containers/prune');
    if (c.ContainersDeleted.length) {
      ctx.out(`Deleted Containers:\n${c.ContainersDeleted.join('\n')}\n\n`);
    }
    if (bool(p, 'volumes')) {
      const v = await ctx.client.call('POST', '/volumes/prune');
      if (v.VolumesDeleted.length) {
        ctx.out(`Deleted Volumes:\n${v.VolumesDeleted.join('\n')}\n\n`);
      }
    }
    ctx.out('Total reclaimed space: 0B\n');
    return 0;
  },
};

const command: Command = {
  usage: 'system COMMAND',
  summary: 'Manage skiff',
  flags: [],
  sub: {
    prune: async () => ({ default: prune }),
    info: () => import('./info.ts'),
  },
};
export default command;
