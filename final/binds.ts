// `-v` as docker reads it: `/host:/ctr[:ro]` binds a host path,
// `name:/ctr[:ro]` a named volume, `/ctr` an anonymous one. The one
// parser of -v: the CLI checks with it before it sends anything, the
// daemon turns what any API client sends into mounts with it. Kept
// free of imports but node:path: `skiff run` loads it.
import { isAbsolute, resolve } from 'node:path';

export interface BindSpec {
  /** A host path (absolute), a volume's name, or "" for a new volume. */
  source: string;
  destination: string;
  readOnly: boolean;
}

// #region parse-bind
/** One `-v` value; throws, naming it, when it is not one of the forms. */
export function parseBind(text: string): BindSpec {
  const parts = text.split(':');
  if (parts.length === 1) parts.unshift('');
  const [source, destination, mode = 'rw'] = parts;
  // ro or rw, then options we accept and ignore (z, nocopy, rprivate).
  if (parts.length > 3 || !destination || !isAbsolute(destination) ||
    !/^(ro|rw)(,.*)?$|^$/.test(mode)) {
    throw Object.assign(new Error('invalid volume specification: ' +
      `'${text}'`), { exitCode: 125 });
  }
  return { source, destination, readOnly: mode.startsWith('ro') };
}
// #endregion

/**
 * As the docker CLI (since 23.0): a source that starts with "." is a
 * path relative to where the command runs, made absolute here since
 * the daemon runs elsewhere; any other relative name is a volume's.
 */
export function absoluteBind(text: string, cwd = process.cwd()): string {
  const b = parseBind(text);
  if (!b.source.startsWith('.')) return text;
  return [resolve(cwd, b.source), ...text.split(':').slice(1)].join(':');
}
