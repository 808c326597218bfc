// skiff diff: what a container changed in its filesystem, one line per
// path: A added, C changed, D deleted (docker's letters).
import type { Command } from './command.ts';
import { q } from './command.ts';

const LETTER = ['C', 'A', 'D'];

const command: Command = {
  usage: 'diff CONTAINER',
  summary: 'Inspect changes to files or directories on a container\'s ' +
    'filesystem',
  flags: [],
  minArgs: 1,
  maxArgs: 1,
  async run(p, ctx) {
    const changes: { Path: string; Kind: number }[] | null =
      await ctx.client.call('GET', `/containers/${q(p.args[0])}/changes`);
    for (const change of changes ?? []) {
      ctx.out(`${LETTER[change.Kind]} ${change.Path}\n`);
    }
    return 0;
  },
};
export default command;
