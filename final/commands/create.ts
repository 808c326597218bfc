// skiff create: a container from an image, not started.
import type { Command } from './command.ts';
import { createContainer } from './run.ts';
import { CREATE_FLAGS } from './run-flags.ts';

const command: Command = {
  usage: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create a new container',
  flags: [{ name: 'rm', kind: 'bool',
    help: 'Automatically remove the container when it exits' },
  ...CREATE_FLAGS],
  minArgs: 1,
  interspersed: false,
  async run(p, ctx) {
    ctx.out(`${await createContainer(ctx, p)}\n`);
    return 0;
  },
};
export default command;
