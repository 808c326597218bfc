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
  try {
    writeAtomic(path, JSON.stringify(value, null, 2) + '\n', 0o600);
  } catch (err) {
    throw writeError(path, err);
  }
}

// #region write-error (unused)
// A full or read-only disk is the host's fault, not the request's: the
// answer is a 500, but one that names the file and the cause in words,
// so the user looks at the disk and not at skiff. writeAtomic left the
// old file in place (the new bytes went to a temporary file).
const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  EACCES: 'permission denied',
};

/** strerror(3)'s words for a full or read-only disk's errnos. */
export function errnoWords(code: string): string | undefined {
  return ['ENOSPC', 'EDQUOT', 'EROFS'].includes(code) ? CAUSES[code]
    : undefined;
}

/** `cannot write PATH: no space left on device`, with the errno kept. */
export function writeError(path: string, err: unknown): Error {
  let code: string | undefined;
  for (let e = err as { code?: string; cause?: unknown } | undefined;
    e && !code; e = e.cause as typeof e) code = e.code;
  const why = (code && CAUSES[code]) ??
    (err instanceof Error ? err.message : String(err));
  return Object.assign(new Error(`cannot write ${path}: ${why}`,
    { cause: err }), { code });
}
// #endregion

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
