// skiff import: a root filesystem tarball becomes a one-layer image.
import { basename } from 'node:path';
import { withQuery } from '../client.ts';
import type { Command } from './command.ts';
import { list, str } from './command.ts';
import { upload } from './transfer.ts';

const command: Command = {
  usage: 'import [OPTIONS] file|- [REPOSITORY[:TAG]]',
  summary: 'Import the contents from a tarball to create a filesystem ' +
    'image',
  flags: [
    { name: 'change', short: 'c', kind: 'list', value: 'list',
      help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', value: 'string',
      help: 'Set commit message for imported image' },
  ],
  minArgs: 1,
  maxArgs: 2,
  async run(p, ctx) {
    const [file, ref] = p.args;
    if (/^https?:\/\//.test(file)) {
      throw new Error(`import ${file}: URLs are not supported (no ` +
        'network access); download it and import the file');
    }
    const changes = list(p, 'change')
      .map((c) => `&changes=${encodeURIComponent(c)}`).join('');
    const path = withQuery('/images/create', { fromSrc: '-', repo: ref,
      message: str(p, 'message'), origin: basename(file) }) + changes;
    const r = JSON.parse(await upload(ctx.client, 'POST', path, file));
    ctx.out(`${r.status}\n`);
    return 0;
  },
};
export default command;
