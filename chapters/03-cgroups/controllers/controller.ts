// What every controller file provides: how to write the part of the OCI
// resources it owns into a v1 hierarchy's directory and into a v2 one.
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import {
  CgroupError, hasCgroupFile, writeCgroupFile,
} from '../cgroups/fs.ts';

// #region controller
export interface Controller {
  /** The name users see in errors: "memory", "cpu", "io", ... */
  readonly name: string;
  /** Its v1 hierarchy ("blkio"), or null if v1 needs none. */
  readonly v1: string | null;
  /** Its v2 controller ("io"), or null for core files (cgroup.freeze). */
  readonly v2: string | null;
  /** Does `r` ask anything of this controller? */
  wanted(r: LinuxResources): boolean;
  applyV1(dir: string, r: LinuxResources): void;
  applyV2(dir: string, r: LinuxResources): void;
}
// #endregion

/** The kernel's "no limit" on v1 is a huge number (PAGE_COUNTER_MAX). */
export function v1Limit(text: string | undefined): number | null {
  if (text === undefined || text === '-1') return null;
  const n = Number(text);
  return n >= 2 ** 62 ? null : n;
}

/** v2 writes "max" for no limit. */
export function v2Limit(text: string | undefined): number | null {
  if (text === undefined || text === 'max') return null;
  return Number(text);
}

/**
 * The error for an OCI field this host's cgroups cannot honour, naming
 * the field: the runtime spec lets a runtime ignore almost none of them.
 */
export function unsupported(field: string, why: string): CgroupError {
  return new CgroupError(`linux.resources.${field}: ${why}`);
}

/** Writes `value` to `file`, or fails naming `field` if there is none. */
export function writeField(dir: string, file: string,
  value: string | number, field: string): void {
  if (!hasCgroupFile(dir, file)) {
    throw unsupported(field, `the kernel has no ${file} in ${dir}`);
  }
  writeCgroupFile(dir, file, value);
}
