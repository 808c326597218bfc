// A tiny root filesystem for the book's containers, built from the host's
// statically linked busybox: one binary that is `sh`, `ls`, `ps` and some
// three hundred other commands, chosen by the name it is started under.
//
//   sudo npx tsx chapters/01-chroot/rootfs.ts /tmp/rootfs
import { execFileSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUSYBOX = '/bin/busybox';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the test suite keeps its built-once rootfs. */
export const CACHE_DIR = join(REPO, '.cache');

// #region make-rootfs
export function makeBusyboxRootfs(dir: string): void {
  requireStaticBusybox();
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root',
    'proc', 'sys', 'dev', 'tmp', 'var/tmp', 'home']) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  // `busybox --list-full` prints each applet's path, e.g. "usr/bin/wc".
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' })
    .split('\n').filter((a) => a && a !== 'bin/busybox');
  for (const applet of applets) {
    const link = join(dir, applet);
    if (!existsSync(link)) symlinkSync('/bin/busybox', link);
  }
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n' +
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}
// #endregion

function requireStaticBusybox(): void {
  if (!existsSync(BUSYBOX)) {
    throw new Error(`rootfs: ${BUSYBOX} is missing: ` +
      'install the busybox-static package (sudo npm run setup)');
  }
  if (hasInterpreter(readFileSync(BUSYBOX))) {
    throw new Error(`rootfs: ${BUSYBOX} is dynamically linked: ` +
      'install busybox-static instead of busybox');
  }
}

/** Does this 64-bit ELF file ask for a dynamic loader (a PT_INTERP)? */
function hasInterpreter(elf: Buffer): boolean {
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const size = elf.readUInt16LE(0x36);
  const count = elf.readUInt16LE(0x38);
  for (let i = 0; i < count; i++) {
    if (elf.readUInt32LE(phoff + i * size) === 3) return true; // PT_INTERP
  }
  return false;
}

/**
 * The busybox rootfs the tests share, built once under .cache/. Treat it
 * as read-only; copy it (`cp -a`) before changing anything inside.
 */
export function cachedRootfs(): string {
  const dir = join(CACHE_DIR, 'rootfs-busybox');
  return buildOnce(dir, join(dir, 'bin/busybox'), makeBusyboxRootfs);
}

/**
 * `path` (a file or a directory) built once: `build` makes it under a
 * temporary name, renamed into place when whole, so that tests running
 * at once never see half of it. `ready` exists once it is there. When
 * two build it at once, the first rename wins and the other's copy goes.
 */
export function buildOnce(path: string, ready: string,
  build: (tmp: string) => void): string {
  if (existsSync(ready)) return path;
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    build(tmp);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(ready)) throw err; // else another test won
  }
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: rootfs.ts <directory>');
    process.exit(2);
  }
  try {
    makeBusyboxRootfs(resolve(dir));
    console.log(`busybox rootfs ready in ${resolve(dir)}`);
  } catch (err) {
    console.error(`skiff: ${(err as Error).message}`);
    process.exit(1);
  }
}
