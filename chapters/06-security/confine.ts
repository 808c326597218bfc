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
import type { InitLayer } from '../02-namespaces/process.ts';
import type { LinuxSeccomp } from '../02-namespaces/spec.ts';
import { applyApparmor } from './apparmor.ts';
import { dropBounding, setCapabilities } from './capabilities.ts';
import { loadSeccomp } from './seccomp.ts';
import { applySelinux } from './selinux.ts';

// #region layer
/**
 * The confinement, with `filter` to compile and install the seccomp
 * filter (an engine may bring one that finds it compiled ahead).
 */
export function confine(
  filter: (s: LinuxSeccomp) => void = loadSeccomp): InitLayer {
  return {
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
  };
}

export const confinement = confine();
// #endregion
