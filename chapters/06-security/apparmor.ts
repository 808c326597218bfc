// Chapter 06: AppArmor, a profile the kernel holds a container to.
//
// AppArmor is path-based mandatory access control: a profile, compiled
// by apparmor_parser(8) and loaded into the kernel, lists what a process
// confined by it may do (files by path, mount, signals, ptrace...), and
// root inside the container cannot leave it. The engine loads skiff's
// default profile once; the container init asks the kernel to put the
// command under it at execve(2).
import { spawnSync } from 'node:child_process';
import {
  existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyscallError } from '../01-chroot/kernel.ts';
import { apparmorEnabled, writeAttr } from './lsm.ts';

export const DEFAULT_APPARMOR_PROFILE = 'skiff-default';

// docker-default's rules (moby profiles/apparmor), each with its reason.
// Allowed broadly, because the other layers (capabilities, seccomp, the
// masked paths) do the fine work; denied, what those layers miss.
// #region profile-rules
const RULES: [rule: string, why: string][] = [
  ['network,', 'any socket: the network namespace isolates'],
  ['capability,', 'any capability the bounding set still holds'],
  ['file,', 'any path, then the denials below carve out'],
  ['umount,', 'unmounting inside its own mount namespace'],
  ['signal (receive) peer=unconfined,', 'the engine and host root kill'],
  ['signal (send,receive) peer=@{profile_name},', 'among its processes'],
  ['ptrace (trace,read,tracedby,readby) peer=@{profile_name},',
    'ps and strace among its own processes, nobody else\'s'],
  ['deny @{PROC}/* w,', 'files right under /proc: sysrq-trigger...'],
  ['deny @{PROC}/{[^1-9],[^1-9][^0-9],[^1-9s][^0-9y][^0-9s],' +
    '[^1-9][^0-9][^0-9][^0-9/]*}/** w,',
  'under /proc, only /proc/<pid>/ and /proc/sys/ stay writable'],
  ['deny @{PROC}/sys/[^k]** w,', '/proc/sys: all but kernel/'],
  ['deny @{PROC}/sys/kernel/{?,??,[^s][^h][^m]**} w,',
    '/proc/sys/kernel: all but shm* (IPC-namespaced)'],
  ['deny @{PROC}/sysrq-trigger rwklx,', 'reboot or crash the host'],
  ['deny @{PROC}/kcore rwklx,', 'the host\'s physical memory'],
  ['deny mount,', 'no mount of any kind: release_agent, devtmpfs...'],
  ['deny /sys/[^f]*/** wklx,', '/sys read-only but for /sys/fs/cgroup'],
  ['deny /sys/f[^s]*/** wklx,', ''],
  ['deny /sys/fs/[^c]*/** wklx,', ''],
  ['deny /sys/fs/c[^g]*/** wklx,', ''],
  ['deny /sys/fs/cg[^r]*/** wklx,', ''],
  ['deny /sys/firmware/** rwklx,', 'EFI variables, ACPI tables'],
  ['deny /sys/kernel/security/** rwklx,', 'the LSMs\' own interfaces'],
];
// #endregion

const TUNABLES = '/etc/apparmor.d/tunables/global';
const BASE = '/etc/apparmor.d/abstractions/base';

// #region profile-text (unused)
/**
 * The text of skiff's default profile. attach_disconnected: paths are
 * seen from the container's root, and a file reached from outside it
 * (a descriptor the engine passed) has no path there; mediate_deleted:
 * an unlinked file is still checked by its old path.
 */
export function defaultProfileText(name = DEFAULT_APPARMOR_PROFILE): string {
  const head = existsSync(TUNABLES) ? '#include <tunables/global>'
    : '@{PROC}=/proc/';
  const base = existsSync(BASE) ? ['  #include <abstractions/base>'] : [];
  const body = RULES.map(([rule, why]) =>
    `  ${rule}${why ? `  # ${why}` : ''}`);
  return [head, '',
    `profile ${name} flags=(attach_disconnected,mediate_deleted) {`,
    ...base, ...body, '}', ''].join('\n');
}
// #endregion

const PROFILES = '/sys/kernel/security/apparmor/profiles';

/** Whether the kernel holds a profile `name` (in any mode). */
export function profileLoaded(name: string): boolean {
  let text = '';
  try {
    text = readFileSync(PROFILES, 'utf8');
  } catch {
    return false;
  }
  // One line per profile: "NAME (enforce)"; a name may hold spaces.
  return text.split('\n').some((line) =>
    line.slice(0, line.lastIndexOf(' (')) === name);
}

function findParser(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':')
    .concat(['/usr/sbin', '/sbin']);
  return dirs.map((d) => join(d, 'apparmor_parser')).find(existsSync);
}

// #region ensure-default (unused)
/**
 * Loads skiff-default when AppArmor is on and the kernel lacks it, as
 * dockerd does with docker-default at start. The text goes to a private
 * temporary file (/etc/apparmor.d may be read-only) and
 * apparmor_parser -K -r compiles it and replaces any older copy,
 * writing no cache.
 */
export function ensureDefaultProfile(): void {
  const name = DEFAULT_APPARMOR_PROFILE;
  if (!apparmorEnabled() || profileLoaded(name)) return;
  const parser = findParser();
  if (!parser) {
    throw new Error('apparmor: apparmor_parser not found: ' +
      'install the apparmor package');
  }
  const dir = mkdtempSync(join(tmpdir(), 'skiff-apparmor-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, defaultProfileText(name), { mode: 0o600 });
    const r = spawnSync(parser, ['-K', '-r', file], { encoding: 'utf8' });
    if (r.status !== 0) {
      const why = (r.stderr || String(r.error ?? '')).trim().split('\n')[0];
      throw new Error(`AppArmor enabled on system but the ${name} ` +
        `profile could not be loaded: ${why}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
// #endregion

/**
 * For `--security-opt apparmor=NAME`: refuses, at create time and with
 * one line, what the init's write would refuse at start.
 */
export function checkApparmorProfile(name: string): void {
  if (name === 'unconfined') return;
  if (!apparmorEnabled()) {
    throw new Error('apparmor is not enabled on this host');
  }
  if (!profileLoaded(name)) {
    throw new Error(`apparmor profile "${name}" is not loaded ` +
      '(load it with apparmor_parser -r FILE)');
  }
}

// #region apply
/**
 * Asks the kernel to confine this thread by `profile` at its next
 * execve(2) (the change_onexec of apparmor(7)). The attribute is per
 * thread, so this runs on the thread that will call execve. Since Linux
 * 5.1 AppArmor has its own directory under attr/, which leaves the
 * shared attr/exec to whichever LSM came first; older kernels only have
 * the shared file.
 */
export function applyApparmor(profile: string): void {
  if (profile === '' || profile === 'unconfined') return;
  const value = `exec ${profile}`;
  try {
    try {
      writeAttr('/proc/thread-self/attr/apparmor/exec', value);
    } catch (err) {
      if ((err as SyscallError).code !== 'ENOENT') throw err;
      writeAttr('/proc/thread-self/attr/exec', value);
    }
  } catch (err) {
    throw new Error(`apparmor: set exec profile ${profile}: ${
      (err as SyscallError).code ?? err}`, { cause: err });
  }
}
// #endregion
