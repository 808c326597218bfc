// skiff system prune|info|df: the engine as a whole.
import type { Command } from './command.ts';
import { humanSize } from '../format.ts';
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
    const v = bool(p, 'volumes') ? await call('/volumes/prune') : undefined;
    show('Deleted Volumes', v?.VolumesDeleted ?? []);
    const filters = bool(p, 'all')
      ? `?filters=${encodeURIComponent('{"dangling":["false"]}')}` : '';
    const i = await call(`/images/prune${filters}`);
    show('Deleted Images', (i.ImagesDeleted ?? []).map(
      (d: { Untagged?: string; Deleted?: string }) => d.Untagged
        ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted}`));
    // The builder's cache last, as docker's CLI (POST /build/prune).
    const b = await call(`/build/prune${bool(p, 'all') ? '?all=1' : ''}`);
    show('Deleted build cache objects', b.CachesDeleted ?? []);
    const bytes = [c, v, i, b]
      .reduce((sum, r) => sum + (r?.SpaceReclaimed ?? 0), 0);
    ctx.out(`Total reclaimed space: ${humanSize(bytes)}\n`);
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
    df: () => import('./df.ts'),
  },
};
export default command;
