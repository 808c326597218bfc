// Idmapped mounts: a mount that shows its files' owners through a user
// namespace's mapping (mount_setattr(2), MOUNT_ATTR_IDMAP, Linux 5.12).
// Root of a user namespace is an unprivileged uid on the host, so the
// files of a rootfs owned by host uid 0 would show inside as nobody
// (65534), and root inside could not write them. An idmapped clone of
// the rootfs, given the container's own mapping (0 -> 100000), shows
// the files of host uid 0 as uid 100000, which is root inside; a file
// root inside creates is stored as host uid 0 again (the mapping read
// backwards). Nothing on disk is rewritten, unlike a chown'd copy.
import { closeSync, openSync } from 'node:fs';
import { syscall } from '../01-chroot/kernel.ts';

const mountSetattr = syscall<[number, string, number, Buffer, number]>(
  'int mount_setattr(int dfd, const char *path, unsigned int flags, ' +
  'void *attr, size_t size)', () => 'rootfs tree (MOUNT_ATTR_IDMAP)');
const AT_EMPTY_PATH = 0x1000;
const AT_RECURSIVE = 0x8000;
const MOUNT_ATTR_IDMAP = 0x00100000;
const O_CLOEXEC = 0o2000000;

// #region idmap-tree
/**
 * Gives a detached tree (open_tree(2) with OPEN_TREE_CLONE, not yet
 * attached anywhere: the kernel refuses a mount others have seen) the
 * id mapping of the user namespace at `userns` (/proc/PID/ns/user).
 * Only the host's root may: it needs CAP_SYS_ADMIN over the filesystem
 * and over that namespace, so the engine does it, not the init.
 */
export function idmapTree(tree: number, userns: string): void {
  const ns = openSync(userns, O_CLOEXEC);
  try {
    // struct mount_attr: attr_set, attr_clr, propagation, userns_fd.
    const attr = Buffer.alloc(32);
    attr.writeBigUInt64LE(BigInt(MOUNT_ATTR_IDMAP), 0);
    attr.writeBigUInt64LE(BigInt(ns), 24);
    mountSetattr(tree, '', AT_EMPTY_PATH | AT_RECURSIVE, attr, 32);
  } finally {
    closeSync(ns);
  }
}
// #endregion
