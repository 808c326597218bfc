// Tars in and out of the daemon: a request's body kept in a scratch file
// (load, import and cp read it with chapter 04's unpacker, which wants a
// file), and a file or a stream sent back as application/x-tar.
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import type http from 'node:http';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImageStore } from '../../chapters/04-aufs-overlay/store.ts';
import { BadRequest } from './errors.ts';
import { familiar } from './images.ts';

/**
 * Runs `fn` with the request body saved as a file in a scratch directory
 * of the store; the directory is gone afterwards, whatever happens.
 */
export async function withUpload<T>(store: ImageStore,
  req: http.IncomingMessage, fn: (file: string) => Promise<T> | T,
  name = 'body.tar'): Promise<T> {
  const dir = store.scratch('upload-');
  try {
    const file = join(dir, basename(name) || 'body.tar');
    await pipeline(req, createWriteStream(file, { mode: 0o600 }));
    return await fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `make(file)` in a scratch directory, then streams the file. */
export async function sendMade(store: ImageStore, res: http.ServerResponse,
  make: (file: string) => Promise<void> | void): Promise<void> {
  const dir = store.scratch('download-');
  try {
    const file = join(dir, 'out.tar');
    await make(file);
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(createReadStream(file), res);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Query values of a repeated parameter, ignoring empty ones. */
export function all(query: URLSearchParams, name: string): string[] {
  return query.getAll(name).filter((v) => v !== '');
}

/** "repo" and "tag" query parameters as one reference, if any. */
export function refOf(query: URLSearchParams): string | undefined {
  const repo = query.get('repo');
  if (!repo) return undefined;
  const tag = query.get('tag');
  if (tag && repo.slice(repo.lastIndexOf('/') + 1).includes(':')) {
    throw new BadRequest(`invalid reference: ${repo} already has a tag`);
  }
  return familiar(tag ? `${repo}:${tag}` : repo);
}
