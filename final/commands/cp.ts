// skiff cp: files between a container and the host, both ways, running
// or stopped, with docker's rules for names: into a directory that
// exists the source keeps its name; otherwise it takes the destination's.
import { spawn } from 'node:child_process';
import {
  createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync,
  readdirSync, renameSync, rmSync, statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { unpack } from '../../chapters/04-aufs-overlay/unpack.ts';
import { ApiError, type Client, withQuery } from '../client.ts';
import { treeSize } from '../du.ts';
import { humanSize } from '../format.ts';
import type { Command } from './command.ts';
import { q } from './command.ts';
import { upload } from './transfer.ts';

/** "ctr:/path" -> ["ctr", "/path"]; a local path -> [undefined, path]. */
function split(arg: string): [string | undefined, string] {
  const colon = arg.indexOf(':');
  if (colon <= 0 || arg.startsWith('/') || arg.startsWith('.')) {
    return [undefined, arg];
  }
  return [arg.slice(0, colon), arg.slice(colon + 1)];
}

const command: Command = {
  usage: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n' +
    '        skiff cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  summary: 'Copy files/folders between a container and the local ' +
    'filesystem',
  flags: [{ name: 'quiet', short: 'q', kind: 'bool',
    help: 'Suppress progress output during copy' }],
  minArgs: 2,
  maxArgs: 2,
  async run(p, ctx) {
    const [from, to] = p.args.map(split);
    if (from[0] && to[0]) {
      throw new Error('copying between containers is not supported');
    }
    if (!from[0] && !to[0]) {
      throw new Error('must specify at least one container source');
    }
    const bytes = from[0]
      ? await fromContainer(ctx.client, from[0], from[1], to[1])
      : await toContainer(ctx.client, to[0]!, to[1], from[1]);
    if (!p.flags.quiet && (from[0] ? to[1] : from[1]) !== '-') {
      process.stderr.write(`Successfully copied ${humanSize(bytes)} to ${
        from[0] ? to[1] : `${to[0]}:${to[1]}`}\n`);
    }
    return 0;
  },
};
export default command;

/** What HEAD .../archive says about a path in the container. */
async function statIn(client: Client, ctr: string, path: string)
  : Promise<{ mode: number } | undefined> {
  const r = await client.request('HEAD', withQuery(
    `/containers/${q(ctr)}/archive`, { path }));
  if (r.status === 404) {
    // a missing container is an error; a missing path is an answer
    await client.call('GET', `/containers/${q(ctr)}/json`);
    return undefined;
  }
  const stat = r.headers['x-docker-container-path-stat'];
  if (r.status !== 200 || typeof stat !== 'string') {
    throw new ApiError(r.status, `stat ${ctr}:${path}: HTTP ${r.status}`);
  }
  return JSON.parse(Buffer.from(stat, 'base64').toString('utf8'));
}

const isDirMode = (mode: number) => mode >= 2 ** 31;

// #region to-container
async function toContainer(client: Client, ctr: string, dest: string,
  src: string): Promise<number> {
  if (!dest.startsWith('/')) dest = `/${dest}`;
  if (src === '-') {
    await upload(client, 'PUT', withQuery(`/containers/${q(ctr)}/archive`,
      { path: dest }), () => process.stdin);
    return 0;
  }
  const local = statSync(src, { throwIfNoEntry: false });
  if (!local) throw new Error(`could not find the file ${src}`);
  const there = await statIn(client, ctr, dest);
  let dir = dest, name = basename(resolve(src));
  if (!there || !isDirMode(there.mode)) {
    if (there && local.isDirectory()) {
      throw new Error(`cannot copy a directory to a file: ${dest}`);
    }
    if (dest.endsWith('/')) {
      throw new Error(`no such directory in container: ${dest}`);
    }
    dir = posix.dirname(dest);
    name = posix.basename(dest);
  }
  await upload(client, 'PUT', withQuery(`/containers/${q(ctr)}/archive`,
    { path: dir }), () => tarOf(src, name));
  return treeSize(src);
}
// #endregion

/** A tar of `src` whose top entry is called `name` (GNU tar). */
function tarOf(src: string, name: string): Readable {
  const full = resolve(src);
  const base = basename(full);
  const re = base.replace(/[\\^$.*[\],]/g, (c) => `\\${c}`);
  const to = name.replace(/[\\&,]/g, (c) => `\\${c}`);
  const tar = spawn('tar', ['--numeric-owner', '-C', dirname(full),
    `--transform=s,^${re},${to},`, '-cf', '-', '--', base],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  return tar.stdout;
}

// #region from-container (unused)
async function fromContainer(client: Client, ctr: string, src: string,
  dest: string): Promise<number> {
  const res = await client.stream('GET', withQuery(
    `/containers/${q(ctr)}/archive`, { path: src }));
  if (dest === '-') {
    await pipeline(res, process.stdout);
    return 0;
  }
  const target = resolve(dest);
  const st = statSync(target, { throwIfNoEntry: false });
  const parent = st?.isDirectory() ? target : dirname(target);
  if (!existsSync(parent)) {
    throw new Error(`destination directory ${parent} does not exist`);
  }
  const tmp = mkdtempSync(join(parent, '.skiff-cp-'));
  try {
    const file = join(tmp, 'in.tar');
    await pipeline(res, createWriteStream(file, { mode: 0o600 }));
    if (st?.isDirectory()) { // merged into it, as docker does
      const out = join(tmp, 'count');
      mkdirSync(out);
      await unpack({ file }, out); // to count what is in it
      await unpack({ file }, target);
      return treeSize(out);
    }
    const out = join(tmp, 'out');
    mkdirSync(out);
    await unpack({ file }, out);
    const [top] = readdirSync(out);
    const bytes = treeSize(join(out, top));
    if (st && statSync(join(out, top)).isDirectory()) {
      throw new Error(`cannot copy a directory to a file: ${dest}`);
    }
    renameSync(join(out, top), target);
    return bytes;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
// #endregion
