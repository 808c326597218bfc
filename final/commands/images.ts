// skiff images: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE.
import { applyFormat, humanDuration, humanSize, table } from '../format.ts';
import type { Command } from './command.ts';
import { bool, FORMAT_FLAG, str } from './command.ts';

interface ImageSummary {
  Id: string; RepoTags: string[]; Created: number; Size: number;
}

const command: Command = {
  usage: 'images [OPTIONS] [REPOSITORY[:TAG]]',
  summary: 'List images',
  flags: [
    { name: 'all', short: 'a', kind: 'bool', help: 'Show all images ' +
      '(skiff has no intermediate images to hide)' },
    { name: 'quiet', short: 'q', kind: 'bool', help: 'Only show image IDs' },
    { name: 'no-trunc', kind: 'bool', help: 'Don\'t truncate output' },
    FORMAT_FLAG,
  ],
  maxArgs: 1,
  async run(p, ctx) {
    const list = await ctx.client.call<ImageSummary[]>('GET', '/images/json');
    const rows = list.flatMap((i) => (i.RepoTags.length ? i.RepoTags
      : ['<none>:<none>']).map((tag) => {
      const at = tag.lastIndexOf(':');
      const id = bool(p, 'no-trunc') ? i.Id : i.Id.slice(7, 19);
      return { Repository: tag.slice(0, at), Tag: tag.slice(at + 1),
        ID: id, CreatedSince: `${humanDuration(Date.now() -
          i.Created * 1000)} ago`, Size: humanSize(i.Size) };
    })).filter((r) => !p.args[0] || `${r.Repository}:${r.Tag}`
      .startsWith(p.args[0]));
    const format = str(p, 'format');
    if (bool(p, 'quiet')) {
      ctx.out([...new Set(rows.map((r) => r.ID))].map((id) => `${id}\n`)
        .join(''));
    } else if (format) {
      ctx.out(rows.map((r) => applyFormat(format, r) + '\n').join(''));
    } else {
      ctx.out(table([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
        ...rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince,
          r.Size])]));
    }
    return 0;
  },
};
export default command;
