// Test helper for apparmor.test.ts: asks for `profile` at the next exec,
// then becomes `busybox sh -c SCRIPT`, as the container init does with
// its command. Run in a private mount namespace (unshare -m):
//   node --import tsx apparmor-probe.ts PROFILE SCRIPT
import {
  fstatSync, mkdtempSync, openSync, rmdirSync, statSync,
} from 'node:fs';
import { DEFAULT_ENV, execCommand } from '../01-chroot/chroot.ts';
import { exitWithError } from '../01-chroot/fail.ts';
import { syscall } from '../01-chroot/kernel.ts';
import { applyApparmor } from './apparmor.ts';

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
 * Where the root already is the namespace's, nothing changes.
 */
function rootAtNamespaceRoot(): void {
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
  chdir(cwd);
  rmdirSync(step);
}

const [profile, script] = process.argv.slice(2);
try {
  rootAtNamespaceRoot();
  applyApparmor(profile);
  execCommand(['/bin/busybox', 'sh', '-c', script], DEFAULT_ENV);
} catch (err) {
  exitWithError(err);
}
