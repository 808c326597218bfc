// The init's last steps, confined: what chapter 06 adds to chapter 02's
// init (an InitLayer, see process.ts). The order is runc's, and each
// step's place is forced by what it takes away:
//
//   beforeUser  AppArmor's exec label (applies at execve(2)); the
//               bounding set (dropping needs CAP_SETPCAP); the seccomp
//               filter if no_new_privs is off (loading one then needs
//               CAP_SYS_ADMIN, which is about to go)
//   -- setgroups, setresgid, setresuid (chapter 02) --
//   afterUser   effective, permitted, inheritable, ambient (capset(2))
//   beforeExec  the seccomp filter if no_new_privs is on: as late as
//               possible, so the filter need not allow the init's work
import { release } from 'node:os';
import type { InitLayer } from '../02-namespaces/process.ts';
import type { LinuxSeccomp } from '../02-namespaces/spec.ts';
import { applyApparmor } from './apparmor.ts';
import { compileFilter } from './bpf.ts';
import {
  DEFAULT_CAPABILITIES, dropBounding, lastCapability, setCapabilities,
} from './capabilities.ts';
import { defaultProfile, resolveProfile } from './profile.ts';
import { installFilter, loadSeccomp } from './seccomp.ts';
import { applySelinux } from './selinux.ts';

// #region layer
export const confinement: InitLayer = {
  beforeUser({ process: p, seccomp }) {
    if (p.apparmorProfile) applyApparmor(p.apparmorProfile);
    if (p.selinuxLabel) applySelinux(p.selinuxLabel);
    if (p.capabilities) dropBounding(p.capabilities);
    if (seccomp && !p.noNewPrivileges) filter(seccomp);
  },
  afterUser({ process: p }) {
    if (p.capabilities) setCapabilities(p.capabilities);
  },
  beforeExec({ process: p, seccomp }) {
    if (seccomp && p.noNewPrivileges) filter(seccomp);
  },
  // A spare init compiles docker's default filter while it waits, as
  // the engine resolves it for a container with default options: most
  // containers then find their program made (and the rest, the
  // compiler's code warm).
  warmUp() {
    lastCapability();
    const s = resolveProfile(defaultProfile(),
      { caps: DEFAULT_CAPABILITIES, kernel: release() });
    made = { key: JSON.stringify(s), program: compileFilter(s) };
  },
};

let made: { key: string; program: Buffer } | undefined;

/** Installs the filter, compiled now unless warmUp made this one. */
function filter(s: LinuxSeccomp): void {
  if (made?.key !== JSON.stringify(s)) return loadSeccomp(s);
  installFilter(made.program, s.flags);
}
// #endregion
