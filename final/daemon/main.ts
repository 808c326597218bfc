// The daemon's life: one per state root (an flock on daemon.lock), the
// socket, the containers found again after a restart, and a clean exit
// on SIGTERM/SIGINT that leaves the containers running (they are found
// again by the next daemon, like docker's live-restore).
import {
  accessSync, chmodSync, constants, mkdirSync, rmSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  lockFile, writeAtomic,
} from '../../chapters/04-aufs-overlay/durable.ts';
import { createServer } from './api/server.ts';
import { Engine } from './engine.ts';
import { writeError } from './state.ts';
import { sweepOrphans } from './sweep.ts';
import { parseRemap, probeIdmap, type Remap } from './userns.ts';

export interface DaemonOptions {
  root: string;
  sock: string;
  /** --userns-remap: "default" or USER[:GROUP] (userns.ts). */
  usernsRemap?: string;
}

// #region run-daemon (unused)
// #region daemon-lock
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const ids = opts.usernsRemap === undefined ? undefined
    : parseRemap(opts.usernsRemap); // a bad value: before anything exists
  // 0710, as docker's data root: a container's layers hold whatever its
  // root made there, setuid-root programs too, which no host user may
  // reach. Everything a container needs from here goes to it as a
  // mount tree or descriptor, never by path.
  try {
    mkdirSync(opts.root, { recursive: true, mode: 0o710 });
    // access(2) answers EROFS for a read-only file system, even to root.
    accessSync(opts.root, constants.W_OK);
    chmodSync(opts.root, 0o710);
  } catch (err) {
    throw writeError(opts.root, err);
  }
  try {
    lockFile(join(opts.root, 'daemon.lock'), false);
  } catch (err) {
    const busy = (err as { cause?: { code?: string } }).cause?.code;
    throw busy === 'EWOULDBLOCK' || busy === 'EAGAIN'
      ? new Error(`another skiff daemon owns ${opts.root}`, { cause: err })
      : writeError(join(opts.root, 'daemon.lock'), err);
  }
  writeAtomic(join(opts.root, 'daemon.pid'), `${process.pid}\n`);
  const remap = ids && await userNamespaces(opts.root, ids);
  const engine = new Engine({ ...opts, remap });
  await engine.ready;
  await engine.containers.recover();
  for (const what of await sweepOrphans(engine)) {
    console.log(`skiff daemon: removed ${what}, left by a daemon killed ` +
      'in the middle of a start');
  }
  const server = createServer(engine);
  mkdirSync(dirname(opts.sock), { recursive: true });
  rmSync(opts.sock, { force: true }); // a stale socket of a dead daemon
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.sock, resolve);
  });
  chmodSync(opts.sock, 0o660);
// #endregion
  console.log(`skiff daemon ${process.pid}: listening on ${opts.sock}, ` +
    `state in ${opts.root}, runtime ${engine.runtime.name}`);
  const shutdown = (sig: string) => {
    console.log(`skiff daemon: ${sig}, shutting down`);
    engine.containers.detachAll();
    server.close();
    rmSync(opts.sock, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGPIPE', () => {});
}
// #endregion

// #region userns-remap (unused)
/** The daemon's remap, if asked for, and how image files will read. */
async function userNamespaces(root: string, ids: Omit<Remap, 'rootfs'>)
  : Promise<Remap> {
  // SKIFF_USERNS_CHOWN=1 takes the fallback on any kernel (its test).
  const rootfs = process.env.SKIFF_USERNS_CHOWN !== '1' &&
    await probeIdmap(root, ids) ? 'idmapped' : 'chown';
  const [u, g] = [ids.uidMappings[0], ids.gidMappings[0]];
  console.log(`skiff daemon: userns-remap ${ids.name}: root in containers ` +
    `is uid ${u.hostID} (${u.size} uids), gid ${g.hostID}; image files ` +
    (rootfs === 'idmapped' ? 'through idmapped mounts'
      : 'through chown\'d copies (no idmapped overlay layers here)'));
  return { ...ids, rootfs };
}
// #endregion
