// `docker cp`'s daemon half: GET, HEAD and PUT /containers/{id}/archive.
// A path is looked up in the container's own view of its files: through
// /proc/PID/root while it runs (its mounts included), else in its
// mounted rootfs with its volumes and binds mapped by hand. Symlinks are
// resolved inside that root, never on the host's (as docker's SecureJoin
// does), and a tar comes in through chapter 04's unpacker, which refuses
// to write through a symlink.
import { spawn } from 'node:child_process';
import {
  closeSync, constants as fsc, lstatSync, readlinkSync, statSync,
} from 'node:fs';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { resolveInRoot } from '../../chapters/02-namespaces/mounts.ts';
import { mountRootfs } from '../../chapters/04-aufs-overlay/overlay.ts';
import { TarFormatError } from '../../chapters/04-aufs-overlay/tar.ts';
import {
  BreakoutError, unpack,
} from '../../chapters/04-aufs-overlay/unpack.ts';
import {
  O_PATH, openInRoot,
} from '../../chapters/06-security/inroot.ts';
import type { Handler, Req, Route } from './api/route.ts';
import type { Container } from './container/container.ts';
import type { Engine } from './engine.ts';
import { withUpload } from './transfer.ts';
import { BadRequest, NotFound } from './errors.ts';

// #region secure-join
/**
 * `path` inside `root` with every symlink on the way resolved as the
 * container would: an absolute target starts again at `root`, ".."
 * stops at `root` (chapter 02's resolveInRoot, which the init uses for
 * mount points). The result names no symlink but maybe the last part.
 */
export function secureJoin(root: string, path: string, follow = false)
  : string {
  try {
    return resolveInRoot(root, path, follow).replace(/\/$/, '') || '/';
  } catch (err) {
    throw new BadRequest((err as Error).message, { cause: err });
  }
}
// #endregion

/** Where to look for `path` of container `c`: a root and a path in it. */
function hostRoot(engine: Engine, c: Container, path: string)
  : { root: string; rel: string } {
  if (!path.startsWith('/')) path = `/${path}`;
  if (c.isRunning && c.rec.State.Pid) {
    return { root: `/proc/${c.rec.State.Pid}/root`, rel: path };
  }
  // Stopped: the longest volume or bind destination holding the path.
  const mount = [...c.rec.Mounts].sort((a, b) =>
    b.Destination.length - a.Destination.length).find((m) =>
    path === m.Destination || path.startsWith(`${m.Destination}/`));
  if (mount) {
    return { root: mount.Source,
      rel: path.slice(mount.Destination.length) };
  }
  return { root: mountRootfs(engine.images.store, c.id), rel: path };
}

// #region pin-dir (unused)
/**
 * A directory of the container, opened inside its root (chapter 06's
 * openInRoot) and named by its fd: /proc/self/fd/N. secureJoin's
 * answer is a host path, which a running container could turn into a
 * symlink to the host's / before tar or the unpacker uses it (docker's
 * CVE-2018-15664); the fd is the directory we looked up, whatever
 * happens to its name. The caller closes it.
 */
function pinDir(root: string, rel: string): { fd: number; path: string } {
  const fd = openInRoot(root, rel || '/', O_PATH | fsc.O_DIRECTORY);
  return { fd, path: `/proc/self/fd/${fd}` };
}
// #endregion

/** docker's X-Docker-Container-Path-Stat: base64 of a JSON stat. */
function pathStat(file: string, shown: string): string {
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (!st) throw new NotFound(`Could not find the file ${shown} in ` +
    'container');
  const stat = { name: posix.basename(shown) || '/', size: st.size,
    mode: goMode(st.mode), mtime: st.mtime.toISOString(),
    linkTarget: st.isSymbolicLink() ? readlinkSync(file) : '' };
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

/** Go's os.FileMode: permission bits plus a type bit (ModeDir = 1<<31). */
function goMode(mode: number): number {
  const type = mode & 0o170000;
  const bit = type === 0o040000 ? 2 ** 31 : type === 0o120000 ? 2 ** 27 : 0;
  return bit + (mode & 0o7777);
}

// #region copy-routes (unused)
// #region copy-target
export function copyRoutes(engine: Engine): Route[] {
  const r = (method: string, handler: Handler): Route => ({ method,
    pattern: /^\/containers\/([^/]+)\/archive$/, handler });
  const target = (q: Req) => {
    const c = engine.containers.get(decodeURIComponent(q.params[0]));
    const path = q.query.get('path');
    if (!path) throw new BadRequest('archive: path is required');
    const found = hostRoot(engine, c, path);
    const root = found.root.replace(/\/+$/, '') || '/';
    const file = secureJoin(root, found.rel);
    return { c, path, root, file, rel: file.slice(root.length) };
  };
// #endregion
  return [
    r('HEAD', (q) => {
      const t = target(q);
      q.res.setHeader('X-Docker-Container-Path-Stat',
        pathStat(t.file, t.path));
      q.res.end();
    }),
    r('GET', async (q) => {
      const t = target(q);
      q.res.setHeader('X-Docker-Container-Path-Stat',
        pathStat(t.file, t.path));
      await sendTree(q, t.root, t.rel, t.file);
    }),
    // #region copy-put
    r('PUT', async (q) => {
      const t = target(q);
      const st = statSync(t.file, { throwIfNoEntry: false });
      if (!st) {
        throw new NotFound(`Could not find the file ${t.path} in ` +
          `container ${t.c.name}`);
      }
      if (!st.isDirectory()) {
        throw new BadRequest(`extraction point is not a directory: ` +
          t.path);
      }
      if (t.c.rec.HostConfig.ReadonlyRootfs) {
        throw new BadRequest('container rootfs is marked read-only');
      }
      const dir = pinDir(t.root, t.rel);
      try {
        await withUpload(engine.images.store, q.raw, (file) =>
          unpack({ file }, dir.path));
      } catch (err) {
        // A member that leaves the destination, or no tar at all: the
        // client's fault.
        if (err instanceof BreakoutError || err instanceof TarFormatError) {
          throw new BadRequest(`archive: ${err.message}`, { cause: err });
        }
        throw err;
      } finally {
        closeSync(dir.fd);
      }
      // 200 and no body, as dockerd (docker-py's put_archive checks it).
      q.res.statusCode = 200;
      q.res.end();
    }),
    // #endregion
  ];
}
// #endregion

/**
 * A tar of one file or tree, named by its last component, made in its
 * directory pinned by an fd (tar gets it as fd 3). A root (the rootfs,
 * a volume) is the engine's own path: tarred from its parent as before.
 */
async function sendTree(q: Req, root: string, rel: string, file: string)
  : Promise<void> {
  const dir = rel ? pinDir(root, posix.dirname(rel)) : undefined;
  const tar = spawn('tar', ['--numeric-owner', '-C',
    dir ? '/proc/self/fd/3' : posix.dirname(file), '-cf', '-', '--',
    posix.basename(file)],
  { stdio: ['ignore', 'pipe', 'pipe', dir?.fd ?? 'ignore'] });
  if (dir) closeSync(dir.fd); // the child has its copy
  let err = '';
  tar.stderr!.on('data', (d: Buffer) => { err += d; });
  q.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await pipeline(tar.stdout!, q.res);
  const code = await new Promise((r) => tar.on('close', r));
  if (code !== 0) console.error(`cp: tar ${file}: ${err.trim()}`);
}
