// skiff system df: what images, containers, volumes and the build cache
// take on disk (GET /system/df), summed as docker's CLI sums them;
// -v lists each object.
import { ellipsis, humanDuration, humanSize, table } from '../format.ts';
import type { Command } from './command.ts';
import { bool } from './command.ts';

interface Usage {
  LayersSize: number;
  Images: { Id: string; RepoTags: string[]; Created: number;
    Size: number; SharedSize: number; Containers: number }[];
  Containers: { Id: string; Names: string[]; Image: string;
    Command: string; Created: number; State: string; Status: string;
    SizeRw?: number; Mounts: { Driver?: string }[] }[];
  Volumes: { Name: string; UsageData: { Size: number;
    RefCount: number } }[];
}

/** go-units' HumanSize: four significant digits. */
const size = (bytes: number) => humanSize(bytes, 4);
const ago = (seconds: number) =>
  `${humanDuration(Date.now() - seconds * 1000)} ago`;

/** "1.5MB (40%)": docker's RECLAIMABLE column. */
function part(reclaimable: number, total: number): string {
  return total > 0 ? `${size(reclaimable)} (${Math.floor(
    reclaimable * 100 / total)}%)` : size(reclaimable);
}

const active = (state: string) =>
  ['running', 'paused', 'restarting'].includes(state);

// #region system-df (unused)
function summary(u: Usage): string {
  const used = u.Images.filter((i) => i.Containers > 0)
    .reduce((n, i) => n + i.Size - i.SharedSize, 0);
  const rw = u.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const idle = u.Containers.filter((c) => !active(c.State))
    .reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const volumes = u.Volumes.reduce((n, v) => n + v.UsageData.Size, 0);
  const unused = u.Volumes.filter((v) => v.UsageData.RefCount === 0)
    .reduce((n, v) => n + v.UsageData.Size, 0);
  return table([['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
    ['Images', String(u.Images.length),
      String(u.Images.filter((i) => i.Containers > 0).length),
      size(u.LayersSize), part(u.LayersSize - used, u.LayersSize)],
    ['Containers', String(u.Containers.length),
      String(u.Containers.filter((c) => active(c.State)).length),
      size(rw), part(idle, rw)],
    ['Local Volumes', String(u.Volumes.length),
      String(u.Volumes.filter((v) => v.UsageData.RefCount > 0).length),
      size(volumes), part(unused, volumes)],
    ['Build Cache', '0', '0', '0B', '0B']]);
}
// #endregion

function verbose(u: Usage): string {
  const images = u.Images.flatMap((i) => (i.RepoTags.length ? i.RepoTags
    : ['<none>:<none>']).map((tag) => {
    const at = tag.lastIndexOf(':');
    return [tag.slice(0, at), tag.slice(at + 1), i.Id.slice(7, 19),
      ago(i.Created), size(i.Size), size(i.SharedSize),
      size(i.Size - i.SharedSize), String(i.Containers)];
  }));
  const containers = u.Containers.map((c) => [c.Id.slice(0, 12), c.Image,
    JSON.stringify(ellipsis(c.Command, 20)),
    String(c.Mounts.filter((m) => m.Driver).length), size(c.SizeRw ?? 0),
    ago(c.Created), c.Status, c.Names[0].slice(1)]);
  const volumes = u.Volumes.map((v) => [v.Name,
    String(v.UsageData.RefCount), size(v.UsageData.Size)]);
  return 'Images space usage:\n\n' + table([['REPOSITORY', 'TAG',
    'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE',
    'CONTAINERS'], ...images]) +
    '\nContainers space usage:\n\n' + table([['CONTAINER ID', 'IMAGE',
    'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'],
  ...containers]) +
    '\nLocal Volumes space usage:\n\n' + table([['VOLUME NAME', 'LINKS',
    'SIZE'], ...volumes]) +
    '\nBuild cache usage: 0B\n\n' + table([['CACHE ID', 'CACHE TYPE',
    'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED']]);
}

const command: Command = {
  usage: 'system df [OPTIONS]',
  summary: 'Show skiff disk usage',
  flags: [{ name: 'verbose', short: 'v', kind: 'bool',
    help: 'Show detailed information on space usage' }],
  maxArgs: 0,
  async run(p, ctx) {
    const usage = await ctx.client.call<Usage>('GET', '/system/df');
    ctx.out(bool(p, 'verbose') ? verbose(usage) : summary(usage));
    return 0;
  },
};
export default command;
