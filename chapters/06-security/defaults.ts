// Docker's defaults for a container's privileges, as one function that
// adds them to chapter 02's spec: the 14 capabilities, the seccomp
// profile, AppArmor where the kernel has it, and what --privileged
// turns off. The engine (final/) builds every container's spec with it.
import { lstatSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import type {
  LinuxDevice, Process, Spec,
} from '../02-namespaces/spec.ts';
import {
  checkApparmorProfile, DEFAULT_APPARMOR_PROFILE, ensureDefaultProfile,
} from './apparmor.ts';
import {
  allCapabilities, containerCapabilities,
} from './capabilities.ts';
import { apparmorEnabled } from './lsm.ts';
import {
  defaultProfile, parseProfile, resolveProfile,
} from './profile.ts';
import { checkLabel, parseLabelOpts, processLabel } from './selinux.ts';

/** The init bundle's entry with this chapter's layer (build.ts). */
export const SECURE_INIT = fileURLToPath(
  new URL('./init-main.ts', import.meta.url));

export interface SecurityChoices {
  capAdd?: string[];
  capDrop?: string[];
  /** --privileged: every capability, no filter, no masked paths. */
  privileged?: boolean;
  /** 'unconfined', a Docker profile's JSON text, else ours. */
  seccomp?: string;
  /** A loaded AppArmor profile's name or 'unconfined'; else ours. */
  apparmor?: string;
  noNewPrivileges?: boolean;
  /** --security-opt label=... values (SELinux). */
  label?: string[];
}

// #region with-security
/** `spec` with a container's privileges, as docker sets them. */
export function withSecurity(spec: Spec, o: SecurityChoices = {}): Spec {
  const caps = containerCapabilities({ add: o.capAdd, drop: o.capDrop,
    privileged: o.privileged });
  const process = { ...spec.process,
    capabilities: { bounding: caps, effective: caps, permitted: caps,
      inheritable: [], ambient: [] },
    noNewPrivileges: o.noNewPrivileges ?? false,
    apparmorProfile: apparmorProfile(o),
    selinuxLabel: selinuxLabel(o.label ?? []) };
  const linux = { ...spec.linux,
    seccomp: o.privileged ? undefined : seccompFilter(o.seccomp, caps) };
  const secured = { ...spec, process, linux };
  return o.privileged ? unmasked(secured) : secured;
}
// #endregion

/** The container's seccomp filter: none, the given profile, or ours. */
function seccompFilter(choice: string | undefined, caps: string[]) {
  if (choice === 'unconfined') return undefined;
  const profile = choice === undefined || choice === 'builtin'
    ? defaultProfile() : parseProfile(choice, 'seccomp');
  return resolveProfile(profile, { caps, kernel: release() });
}

/** Docker's choice: none without AppArmor, else the one asked for. */
function apparmorProfile(o: SecurityChoices): string | undefined {
  if (o.apparmor !== undefined) {
    checkApparmorProfile(o.apparmor);
    return o.apparmor;
  }
  if (!apparmorEnabled()) return undefined;
  if (o.privileged) return 'unconfined';
  ensureDefaultProfile();
  return DEFAULT_APPARMOR_PROFILE;
}

/** SELinux's label where it is on (by default too), as docker's. */
function selinuxLabel(values: string[]): string | undefined {
  const opts = parseLabelOpts(values);
  checkLabel(opts);
  return processLabel(opts);
}

// #region privileged
/**
 * --privileged: the kernel's interfaces writable and unmasked, and
 * every device of the host's /dev, allowed by the devices cgroup.
 */
function unmasked(spec: Spec): Spec {
  const writable = (options: string[] = []) =>
    options.filter((o) => o !== 'ro');
  return { ...spec,
    mounts: spec.mounts.map((m) => ['sysfs', 'cgroup'].includes(m.type ?? '')
      ? { ...m, options: writable(m.options) } : m),
    linux: { ...spec.linux, maskedPaths: [], readonlyPaths: [],
      devices: hostDevices(),
      resources: { ...spec.linux.resources,
        devices: [{ allow: true, access: 'rwm' }] } },
  };
}
// #endregion

/** The device nodes directly in the host's /dev, as docker lists them. */
export function hostDevices(): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  for (const name of readdirSync('/dev')) {
    // The console and ptmx are the container's own (chapter 02).
    if (['console', 'ptmx', 'tty'].includes(name)) continue;
    let st; // lstat: /dev/stdin and friends are links, not devices
    try {
      st = lstatSync(`/dev/${name}`);
    } catch {
      continue;
    }
    if (!st.isCharacterDevice() && !st.isBlockDevice()) continue;
    out.push({ path: `/dev/${name}`, type: st.isBlockDevice() ? 'b' : 'c',
      major: (st.rdev >>> 8) & 0xfff,
      minor: (st.rdev & 0xff) | ((st.rdev >>> 12) & 0xfff00),
      fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  }
  return out;
}

// #region exec-privileges
/**
 * What a process `docker exec` starts gets: the container's
 * privileges, or with `exec --privileged` every capability (its
 * seccomp filter stays the container's, as runc applies it).
 */
export function execPrivileges(spec: Spec, privileged = false)
  : Pick<Process, 'capabilities' | 'noNewPrivileges' | 'apparmorProfile' |
    'selinuxLabel'> {
  const all = allCapabilities();
  const { capabilities, noNewPrivileges, apparmorProfile, selinuxLabel } =
    spec.process;
  return {
    capabilities: privileged ? { bounding: all, effective: all,
      permitted: all, inheritable: [], ambient: [] } : capabilities,
    noNewPrivileges, apparmorProfile, selinuxLabel,
  };
}
// #endregion
