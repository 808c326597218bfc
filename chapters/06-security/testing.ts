// Test helpers for chapter 06.
import {
  closeSync, fstatSync, mkdtempSync, openSync, rmdirSync, statSync,
} from 'node:fs';
import { syscall } from '../01-chroot/kernel.ts';

const chroot = syscall<[string]>('int chroot(const char *path)');
const chdir = syscall<[string]>('int chdir(const char *path)');
const fchdir = syscall<[number]>('int fchdir(int fd)');
const mount = syscall<[string, string, null, number, null]>(
  'int mount(const char *s, const char *t, const char *fs, ' +
  'unsigned long f, const void *d)');
const MS_MOVE = 8192;

/**
 * AppArmor names a file by its path from the mount namespace's root,
 * not from a chroot(2). vm-run's guest is chrooted into a root mounted
 * at /newroot of the initial ramfs, so AppArmor sees /proc/kcore as
 * /newroot/proc/kcore and no rule of a profile matches. Do what
 * switch_root(8) does, in this private namespace: climb out of the
 * chroot (chapter 01's escape), move our root onto "/", chroot there.
 * Where the root already is the namespace's, nothing changes. Call it
 * in a private mount namespace only (`unshare -m node ...`): a
 * container started from there has its paths right too, since
 * pivot_root(2) puts its root where ours was.
 */
export function rootAtNamespaceRoot(): void {
  const cwd = process.cwd();
  const old = openSync('/', 'r');
  const step = mkdtempSync('/tmp/skiff-probe-');
  chroot(step);
  for (let i = 0; i < 64; i++) chdir('..');
  chroot('.');
  const top = statSync('/');
  const ours = fstatSync(old);
  fchdir(old);
  if (top.dev !== ours.dev || top.ino !== ours.ino) {
    mount('.', '/', null, MS_MOVE, null);
  }
  chroot('.');
  closeSync(old);
  chdir(cwd);
  rmdirSync(step);
}
