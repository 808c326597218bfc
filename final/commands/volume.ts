// skiff volume create|ls|rm|inspect|prune: named volumes.
import { applyFormat, table } from '../format.ts';
import type { Command } from './command.ts';
import {
  bool, forEach, FORMAT_FLAG, inspectCommand, management, list, q, str,
} from './command.ts';

interface Volume { Name: string; Driver: string; Mountpoint: string }

const create: Command = {
  usage: 'volume create [OPTIONS] [VOLUME]',
  summary: 'Create a volume',
  flags: [{ name: 'label', kind: 'list', help: 'Set metadata for a volume' }],
  maxArgs: 1,
  async run(p, ctx) {
    const labels = Object.fromEntries(list(p, 'label').map((l) =>
      [l.split('=')[0], l.split('=').slice(1).join('=')]));
    const v = await ctx.client.call<Volume>('POST', '/volumes/create',
      { Name: p.args[0] ?? '', Labels: labels });
    ctx.out(`${v.Name}\n`);
    return 0;
  },
};

const ls: Command = {
  usage: 'volume ls [OPTIONS]',
  summary: 'List volumes',
  flags: [{ name: 'quiet', short: 'q', kind: 'bool',
    help: 'Only display volume names' }, FORMAT_FLAG],
  maxArgs: 0,
  async run(p, ctx) {
    const { Volumes } = await ctx.client.call<{ Volumes: Volume[] }>('GET',
      '/volumes');
    const format = str(p, 'format');
    if (bool(p, 'quiet')) {
      ctx.out(Volumes.map((v) => `${v.Name}\n`).join(''));
    } else if (format) {
      ctx.out(Volumes.map((v) => applyFormat(format, { ...v }) + '\n')
        .join(''));
    } else {
      ctx.out(table([['DRIVER', 'VOLUME NAME'],
        ...Volumes.map((v) => [v.Driver, v.Name])]));
    }
    return 0;
  },
};

const rm: Command = {
  usage: 'volume rm [OPTIONS] VOLUME [VOLUME...]',
  summary: 'Remove one or more volumes',
  flags: [{ name: 'force', short: 'f', kind: 'bool',
    help: 'Force the removal of one or more volumes' }],
  minArgs: 1,
  async run(p, ctx) {
    return forEach(p.args, (n) => ctx.client.call('DELETE',
      `/volumes/${q(n)}${bool(p, 'force') ? '?force=1' : ''}`), ctx);
  },
};

const inspect = inspectCommand('volume', (n) => `/volumes/${q(n)}`);

const prune: Command = {
  usage: 'volume prune [OPTIONS]',
  summary: 'Remove unused anonymous volumes',
  flags: [{ name: 'force', short: 'f', kind: 'bool',
    help: 'Do not prompt for confirmation' }],
  maxArgs: 0,
  async run(_p, ctx) {
    const r = await ctx.client.call('POST', '/volumes/prune');
    ctx.out(r.VolumesDeleted.length ? `Deleted Volumes:\n${
      r.VolumesDeleted.join('\n')}\n\n` : '');
    ctx.out('Total reclaimed space: 0B\n');
    return 0;
  },
};

export default management('volume', 'Manage volumes',
  { create, ls, rm, inspect, prune });
