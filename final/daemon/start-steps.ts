// The engine's own start steps, run after chapter 04's has mounted the
// rootfs and before the init reads the spec: what docker decides by
// looking into the image at each start.
import type { StartStep } from '../../chapters/02-namespaces/steps.ts';
import {
  mkdirInRoot, readFileInRoot,
} from '../../chapters/06-security/inroot.ts';
import { resolveUser } from './ocispec.ts';
import { chownRootfs, type Remap } from './userns.ts';

/**
 * -u's uid and gid, looked up in the image's /etc/passwd and /etc/group
 * when it names them. We read them as host root: inside the rootfs,
 * regular files only, at most 1 MiB (chapter 06's readFileInRoot).
 */
export function userInImage(rootfs: string, user: string)
  : { uid: number; gid: number } {
  const etc = (file: string, needed: boolean) =>
    needed ? readFileInRoot(rootfs, `/etc/${file}`) ?? '' : '';
  return resolveUser(user, etc('passwd', !!user),
    etc('group', user.includes(':')));
}

/**
 * docker creates -w's directory when the image lacks it. The image is
 * untrusted: a symbolic link on the way resolves inside the rootfs, as
 * the container will see it, never on the host (chapter 06's
 * mkdirInRoot).
 */
function makeWorkdir(rootfs: string, cwd: string): void {
  try {
    mkdirInRoot(rootfs, cwd);
  } catch { /* a file or dangling link there: the init's chdir says so */ }
}

// #region user-step
/** -u resolved in the image (spec annotation org.skiff.user), and -w. */
export function userStep(): StartStep {
  return {
    name: 'user',
    prepare(starting) {
      const spec = starting.spec;
      const rootfs = spec.root.path;
      makeWorkdir(rootfs, spec.process.cwd);
      const user = userInImage(rootfs,
        spec.annotations?.['org.skiff.user'] ?? '');
      spec.process.user = { ...spec.process.user, ...user,
        additionalGids: [user.gid] }; // as runc: `id` shows groups=GID
    },
  };
}
// #endregion

/**
 * --userns-remap where the kernel cannot idmap the layers: the rootfs's
 * owners shifted into the range, once per container (userns.ts).
 */
export function chownStep(dir: string, remap: Remap): StartStep {
  return {
    name: 'chown',
    prepare(starting) {
      chownRootfs(starting.spec.root.path, dir, remap);
    },
  };
}
