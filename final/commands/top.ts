// skiff top: the processes of a container, as the host's ps shows them.
import type { Command } from './command.ts';
import { q } from './command.ts';

const command: Command = {
  usage: 'top CONTAINER [ps OPTIONS]',
  summary: 'Display the running processes of a container',
  flags: [],
  minArgs: 1,
  interspersed: false,
  async run(p, ctx) {
    const [name, ...psArgs] = p.args;
    const args = psArgs.length ? `?ps_args=${q(psArgs.join(' '))}` : '';
    const t = await ctx.client.call<{ Titles: string[];
      Processes: string[][] }>('GET', `/containers/${q(name)}/top${args}`);
    const rows = [t.Titles, ...t.Processes];
    const widths = t.Titles.map((_, i) => Math.max(...rows.map((r) =>
      (r[i] ?? '').length)));
    for (const r of rows) {
      ctx.out(r.map((cell, i) => i === r.length - 1 ? cell
        : cell.padEnd(widths[i])).join('   ') + '\n');
    }
    return 0;
  },
};
export default command;
