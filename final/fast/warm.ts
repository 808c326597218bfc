// What a spare init (spare.ts) does while it waits for its container:
// the work of a start that does not depend on the container, done
// ahead. The init is the engine's: chapter 06's, with this warm-up.
import { release } from 'node:os';
import { syscall } from '../../chapters/01-chroot/kernel.ts';
import type { InitLayer } from '../../chapters/02-namespaces/process.ts';
import { CONFIG_FD } from '../../chapters/02-namespaces/protocol.ts';
import type { LinuxSeccomp } from '../../chapters/02-namespaces/spec.ts';
import { compileFilter } from '../../chapters/06-security/bpf.ts';
import {
  DEFAULT_CAPABILITIES, lastCapability,
} from '../../chapters/06-security/capabilities.ts';
import { confine } from '../../chapters/06-security/confine.ts';
import {
  defaultProfile, resolveProfile,
} from '../../chapters/06-security/profile.ts';
import {
  installFilter, loadSeccomp,
} from '../../chapters/06-security/seccomp.ts';

const ioctl = syscall<[number, number, Int32Array]>(
  'int ioctl(int fd, unsigned long request, _Out_ int *count)');
const FIONREAD = 0x541b;

/**
 * Nothing to read on the config pipe yet: the init was made ahead of
 * its container. FIONREAD counts the bytes waiting (ioctl_tty(2)).
 */
export function madeAhead(): boolean {
  const n = new Int32Array(1);
  ioctl(CONFIG_FD, FIONREAD, n);
  return n[0] === 0;
}

// #region warm-up
/**
 * Chapter 06's confinement, with docker's default filter compiled now,
 * as the engine resolves it for a container with default options:
 * most containers then find their program made, and the rest the
 * compiler's code warm. Node runs that code cold, once per process.
 */
export function warmConfinement(): InitLayer {
  lastCapability();
  const s = resolveProfile(defaultProfile(),
    { caps: DEFAULT_CAPABILITIES, kernel: release() });
  const made = { key: JSON.stringify(s), program: compileFilter(s) };
  return confine((f: LinuxSeccomp) => {
    if (JSON.stringify(f) !== made.key) return loadSeccomp(f);
    installFilter(made.program, f.flags);
  });
}
// #endregion
