// skiff history: how an image was made, newest layer first.
import { applyFormat, humanDuration, humanSize, table } from '../format.ts';
import type { Command } from './command.ts';
import { bool, FORMAT_FLAG, q, str } from './command.ts';

interface Row {
  Id: string; Created: number; CreatedBy: string; Size: number;
  Comment: string;
}

const command: Command = {
  usage: 'history [OPTIONS] IMAGE',
  summary: 'Show the history of an image',
  flags: [
    { name: 'no-trunc', kind: 'bool', help: 'Don\'t truncate output' },
    { name: 'quiet', short: 'q', kind: 'bool',
      help: 'Only show image IDs' },
    FORMAT_FLAG,
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(p, ctx) {
    const rows = await ctx.client.call<Row[]>('GET',
      `/images/${q(p.args[0])}/history`);
    const full = bool(p, 'no-trunc');
    const shown = rows.map((r) => ({
      ID: r.Id === '<missing>' || full ? r.Id : r.Id.slice(7, 19),
      CreatedSince: `${humanDuration(Date.now() - r.Created * 1000)} ago`,
      CreatedBy: full || r.CreatedBy.length <= 45 ? r.CreatedBy
        : `${r.CreatedBy.slice(0, 44)}…`,
      Size: humanSize(r.Size), Comment: r.Comment,
    }));
    const format = str(p, 'format');
    if (bool(p, 'quiet')) {
      ctx.out(shown.map((r) => `${r.ID}\n`).join(''));
    } else if (format) {
      ctx.out(shown.map((r) => applyFormat(format, r) + '\n').join(''));
    } else {
      ctx.out(table([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
        ...shown.map((r) => [r.ID, r.CreatedSince, r.CreatedBy, r.Size,
          r.Comment])]));
    }
    return 0;
  },
};
export default command;
