// Test helper for apparmor.test.ts: asks for `profile` at the next exec,
// then becomes `busybox sh -c SCRIPT`, as the container init does with
// its command. Run in a private mount namespace (unshare -m), where
// rootAtNamespaceRoot may move the root:
//   node --import tsx apparmor-probe.ts PROFILE SCRIPT
import { DEFAULT_ENV, execCommand } from '../01-chroot/chroot.ts';
import { exitWithError } from '../01-chroot/fail.ts';
import { applyApparmor } from './apparmor.ts';
import { rootAtNamespaceRoot } from './testing.ts';

const [profile, script] = process.argv.slice(2);
try {
  rootAtNamespaceRoot();
  applyApparmor(profile);
  execCommand(['/bin/busybox', 'sh', '-c', script], DEFAULT_ENV);
} catch (err) {
  exitWithError(err);
}
