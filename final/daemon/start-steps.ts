// The engine's own start steps, run after chapter 04's has mounted the
// rootfs and before the init reads the spec: what docker decides by
// looking into the image at each start.
import type { StartStep } from '../../chapters/02-namespaces/steps.ts';
import {
  mkdirInRoot, readFileInRoot,
} from '../../chapters/06-security/inroot.ts';
import { resolveUser } from './ocispec.ts';
import { chownRootfs, type Remap } from './userns.ts';
import { seedVolume } from './volumes.ts';

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

/** --group-add's names or gids, names looked up in the image. */
function groupsInImage(rootfs: string, groups: string): number[] {
  if (!groups) return [];
  const table = readFileInRoot(rootfs, '/etc/group') ?? '';
  return groups.split(',').map((g) => {
    if (/^\d+$/.test(g)) return Number(g);
    const entry = table.split('\n').map((line) => line.split(':'))
      .find((fields) => fields[0] === g);
    if (!entry) {
      throw new Error(`unable to find group ${g}: no matching entries ` +
        'in group file');
    }
    return Number(entry[2]);
  });
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
      const added = groupsInImage(rootfs,
        spec.annotations?.['org.skiff.groups'] ?? '');
      spec.process.user = { ...spec.process.user, ...user,
        // as runc: `id` shows groups=GID, then --group-add's
        additionalGids: [...new Set([user.gid, ...added])] };
    },
  };
}
// #endregion

// #region seed-step (unused)
/**
 * Volumes seeded with the image's files at their mount point (docker
 * does it at each start, to a volume still empty): now, with the
 * rootfs mounted and before the init mounts the volumes over it.
 */
export function seedStep(seeds: { source: string; destination: string }[])
  : StartStep {
  return {
    name: 'seed',
    prepare(starting) {
      for (const { source, destination } of seeds) {
        seedVolume(starting.spec.root.path, destination, source);
      }
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
