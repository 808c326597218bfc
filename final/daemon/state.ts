// The daemon's state files, JSON, each replaced atomically with chapter
// 04's writeAtomic (a temp file beside it, fsync, rename(2), fsync of the
// directory), so a reader or a crash sees the old file or the new one,
// never half of one. The daemon also holds an exclusive flock(2) on
// <root>/daemon.lock for its whole life (main.ts): one daemon per root,
// and so one writer of these files.
import { readFileSync } from 'node:fs';
import { writeAtomic } from '../../chapters/04-aufs-overlay/durable.ts';

/** Written 0600: a container's config holds its environment. */
export function writeJson(path: string, value: unknown): void {
  writeAtomic(path, JSON.stringify(value, null, 2) + '\n', 0o600);
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
