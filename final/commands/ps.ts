// skiff ps: docker's columns, STATUS as the daemon words it.
import {
  applyFormat, ellipsis, humanDuration, table,
} from '../format.ts';
import type { Command } from './command.ts';
import { bool, FORMAT_FLAG, str } from './command.ts';

interface Summary {
  Id: string; Names: string[]; Image: string; Command: string;
  Created: number; State: string; Status: string; Labels: Record<string,
  string>; Mounts: { Name?: string; Source: string }[];
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number;
    Type: string }[];
  HostConfig?: { NetworkMode?: string };
}

/** The network docker's NETWORKS field names: "default" is the bridge. */
function networkName(c: Summary): string {
  const mode = c.HostConfig?.NetworkMode ?? 'default';
  return mode === 'default' ? 'bridge' : mode;
}

/** docker's CreatedAt: "2026-11-29 13:49:14 +0000 UTC". */
function createdAt(seconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

// #region ports-column
export function portsText(ports: Summary['Ports']): string {
  return ports.map((p) => p.PublicPort
    ? `${p.IP ?? '0.0.0.0'}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`
    : `${p.PrivatePort}/${p.Type}`).join(', ');
}
// #endregion

/** The fields of `--format`, named as docker names them. */
function fields(c: Summary, trunc: boolean) {
  return {
    ID: trunc ? c.Id.slice(0, 12) : c.Id, Image: c.Image,
    Command: JSON.stringify(trunc ? ellipsis(c.Command, 20) : c.Command),
    CreatedAt: createdAt(c.Created),
    RunningFor: `${humanDuration(Date.now() - c.Created * 1000)} ago`,
    Ports: portsText(c.Ports), State: c.State, Status: c.Status,
    Names: c.Names.map((n) => n.slice(1)).join(','),
    Labels: Object.entries(c.Labels).map(([k, v]) => `${k}=${v}`).join(','),
    Mounts: c.Mounts.map((m) => m.Name ?? m.Source).join(','),
    LocalVolumes: String(c.Mounts.filter((m) => m.Name).length),
    Networks: networkName(c), Size: '',
  };
}

const command: Command = {
  usage: 'ps [OPTIONS]',
  summary: 'List containers',
  flags: [
    { name: 'all', short: 'a', kind: 'bool',
      help: 'Show all containers (default shows just running)' },
    { name: 'quiet', short: 'q', kind: 'bool',
      help: 'Only display container IDs' },
    { name: 'latest', short: 'l', kind: 'bool',
      help: 'Show the latest created container (includes all states)' },
    { name: 'last', short: 'n', kind: 'string', value: 'int',
      help: 'Show n last created containers (includes all states)' },
    { name: 'no-trunc', kind: 'bool', help: 'Don\'t truncate output' },
    FORMAT_FLAG,
  ],
  maxArgs: 0,
  async run(p, ctx) {
    const last = bool(p, 'latest') ? 1 : Number(str(p, 'last') ?? -1);
    const all = bool(p, 'all') || last > 0;
    let list = await ctx.client.call<Summary[]>('GET',
      `/containers/json${all ? '?all=1' : ''}`);
    if (last > 0) list = list.slice(0, last);
    const trunc = !bool(p, 'no-trunc');
    if (bool(p, 'quiet')) {
      ctx.out(list.map((c) => `${trunc ? c.Id.slice(0, 12) : c.Id}\n`)
        .join(''));
      return 0;
    }
    const format = str(p, 'format');
    if (format && format !== 'table') {
      ctx.out(list.map((c) => applyFormat(format, fields(c, trunc)) + '\n')
        .join(''));
      return 0;
    }
    ctx.out(table([['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED',
      'STATUS', 'PORTS', 'NAMES'], ...list.map((c) => {
      const f = fields(c, trunc);
      return [f.ID, f.Image, f.Command, f.RunningFor, f.Status, f.Ports,
        f.Names];
    })]));
    return 0;
  },
};
export default command;
