// Chapter 06: which Linux Security Modules this kernel runs.
//
// An LSM is a set of hooks the kernel calls before it grants an access
// (open, mount, ptrace, signal...): capabilities, Yama and Landlock are
// LSMs, and so are the two that confine whole containers, AppArmor and
// SELinux. Detection here only reads: it never mounts anything.
import { existsSync, readFileSync } from 'node:fs';
import { syscall } from '../01-chroot/kernel.ts';
import { mountInfo } from '../02-namespaces/procfs.ts';

// #region active-lsms (unused)
// securityfs lists the active LSMs in boot order (security/security.c);
// systemd mounts it at /sys/kernel/security, minimal systems may not.
// Since Linux 6.8, lsm_list_modules(2) says the same without securityfs:
// it fills an array of LSM ids (include/uapi/linux/lsm.h).
const LSM_FILE = '/sys/kernel/security/lsm';
const SYS_lsm_list_modules = 461; // one number on every architecture
const LSM_IDS: Record<number, string> = {
  100: 'capability', 101: 'selinux', 102: 'smack', 103: 'tomoyo',
  104: 'apparmor', 105: 'yama', 106: 'loadpin', 107: 'safesetid',
  108: 'lockdown', 109: 'bpf', 110: 'landlock', 111: 'ima', 112: 'evm',
  113: 'ipe',
};

/** The active LSMs by name, as /sys/kernel/security/lsm lists them. */
export function activeLsms(): string[] {
  try {
    return readFileSync(LSM_FILE, 'utf8').trim().split(',')
      .filter(Boolean);
  } catch {
    return listModules();
  }
}
// #endregion

const rawSyscall = syscall<unknown[]>('long syscall(long nr, ...)',
  () => 'lsm_list_modules');

/** lsm_list_modules(2), or [] where the kernel is older than 6.8. */
function listModules(): string[] {
  const ids = Buffer.alloc(8 * 64);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(ids.length);
  let count: number;
  try {
    count = rawSyscall(SYS_lsm_list_modules, 'void *', ids, 'void *', size,
      'uint32_t', 0);
  } catch {
    return []; // ENOSYS before 6.8
  }
  return Array.from({ length: count }, (_, i) => {
    const id = Number(ids.readBigUInt64LE(i * 8));
    return LSM_IDS[id] ?? `lsm${id}`;
  });
}

// #region enabled
/**
 * AppArmor can confine a process when the module is switched on (it may
 * be built in but off: apparmor=0 on the kernel's command line) and its
 * securityfs interface, where profiles are loaded, is there. runc asks
 * the same two questions (libcontainer/apparmor IsEnabled).
 */
export function apparmorEnabled(): boolean {
  let on = '';
  try {
    on = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8');
  } catch {
    return false;
  }
  return on.trim() === 'Y' && existsSync('/sys/kernel/security/apparmor');
}

/** SELinux is on when its filesystem, selinuxfs, is there (selinux(8)). */
export function selinuxEnabled(): boolean {
  if (existsSync('/sys/fs/selinux/enforce')) return true;
  try {
    return mountInfo().some((m) => m.fsType === 'selinuxfs');
  } catch {
    return false;
  }
}
// #endregion

/** AppArmor is in the kernel and on, but securityfs is not mounted. */
export function apparmorNeedsSecurityfs(): boolean {
  try {
    const on = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8');
    return on.trim() === 'Y' && !existsSync('/sys/kernel/security/apparmor');
  } catch {
    return false;
  }
}

// #region write-attr (unused)
const open = syscall<[string, number]>('int open(const char *p, int f)');
const write = syscall<[number, string, number]>(
  'long write(int fd, const char *buf, size_t n)', (fd) => `${fd}`);
const close = syscall<[number]>('int close(int fd)');
const O_WRONLY = 1;
const O_CLOEXEC = 0o2000000;

/**
 * Writes one of the calling thread's LSM attributes (proc(5),
 * /proc/thread-self/attr/): one write(2), whose errno is the LSM's
 * answer. Through the kernel bridge, on this very thread: the attribute
 * belongs to the thread that will call execve(2).
 */
export function writeAttr(path: string, value: string): void {
  const fd = open(path, O_WRONLY | O_CLOEXEC);
  try {
    write(fd, value, Buffer.byteLength(value));
  } finally {
    close(fd);
  }
}
// #endregion
