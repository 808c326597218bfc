// skiff inspect: the daemon's JSON for containers, images or volumes.
import { ApiError } from '../client.ts';
import type { Command } from './command.ts';
import { INSPECT_FORMAT, printInspected, q, str } from './command.ts';

const PATHS: Record<string, (n: string) => string> = {
  container: (n) => `/containers/${q(n)}/json`,
  image: (n) => `/images/${q(n)}/json`,
  volume: (n) => `/volumes/${q(n)}`,
};

const command: Command = {
  usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
  summary: 'Return low-level information on skiff objects',
  flags: [INSPECT_FORMAT, { name: 'type', kind: 'string',
    help: 'Only inspect objects of the given type (container, image, ' +
      'volume)' }],
  minArgs: 1,
  async run(p, ctx) {
    const type = str(p, 'type');
    const kinds = type ? [type] : Object.keys(PATHS);
    const found: unknown[] = [];
    let failed = 0;
    for (const name of p.args) {
      const hit = await findOne(ctx.client, kinds, name);
      if (hit === undefined) {
        process.stderr.write(`Error: No such object: ${name}\n`);
        failed++;
      } else {
        found.push(hit);
      }
    }
    printInspected(p, ctx, found);
    return failed ? 1 : 0;
  },
};

async function findOne(client: import('../client.ts').Client,
  kinds: string[], name: string): Promise<unknown> {
  for (const kind of kinds) {
    const path = PATHS[kind];
    if (!path) throw new Error(`"${kind}" is not a valid value for --type`);
    try {
      return await client.call('GET', path(name));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }
  return undefined;
}
export default command;
