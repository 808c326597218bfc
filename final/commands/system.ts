// skiff system prune|info|df: the engine as a whole.
import type { Command } from './command.ts';
import { bool } from './command.ts';

// #region system-prune (unused)
const prune: Command = {
  usage: 'system prune [OPTIONS]',
  summary: 'Remove unused data: stopped containers, networks no ' +
    'container uses, dangling images (all unused ones with -a), and ' +
    'with --volumes anonymous volumes no container uses',
  flags: [
    { name: 'all', short: 'a', kind: 'bool',
      help: 'Remove all unused images not just dangling ones' },
    { name: 'force', short: 'f', kind: 'bool',
      help: 'Do not prompt for confirmation' },
    { name: 'volumes', kind: 'bool', help: 'Prune anonymous volumes' },
  ],
  maxArgs: 0,
  async run(p, ctx) {
    const call = (path: string) => ctx.client.call('POST', path);
    const show = (title: string, items: string[]) => {
      if (items.length) ctx.out(`${title}:\n${items.join('\n')}\n\n`);
    };
    const c = await call('/containers/prune');
    show('Deleted Containers', c.ContainersDeleted ?? []);
    const n = await call('/networks/prune');
    show('Deleted Networks', n.NetworksDeleted ?? []);
    if (bool(p, 'volumes')) {
      const v = await call('/volumes/prune');
      show('Deleted Volumes', v.VolumesDeleted ?? []);
    }
    const filters = bool(p, 'all')
      ? `?filters=${encodeURIComponent('{"dangling":["false"]}')}` : '';
    const i = await call(`/images/prune${filters}`);
    show('Deleted Images', (i.ImagesDeleted ?? []).map(
      (d: { Untagged?: string; Deleted?: string }) => d.Untagged
        ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted}`));
    ctx.out('Total reclaimed space: 0B\n');
    return 0;
  },
};
// #endregion

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
