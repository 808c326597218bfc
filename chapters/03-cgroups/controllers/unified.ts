// unified: cgroup v2 files by name, written as given, for what the rest
// of the OCI resources cannot say ("memory.high", "memory.oom.group").
// The spec: a runtime writes even keys it does not know, enables the
// controller a key belongs to, and fails if that controller is absent.
// On v1 there is no such file: runc refuses with "invalid
// configuration: cannot use unified on cgroup v1", and so do we.
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import { hasCgroupFile, writeCgroupFile } from '../cgroups/fs.ts';
import { unsupported, type Controller } from './controller.ts';

type Unified = NonNullable<LinuxResources['unified']>;

export const unified: Controller = {
  name: 'unified', v1: null, v2: null,
  wanted: (r) => Object.keys(r.unified ?? {}).length > 0,
  applyV1: (_dir, r) => refuseUnifiedV1(r),
  applyV2(dir, r) {
    const entries = Object.entries(r.unified ?? {});
    for (const [file] of entries) checkName(file);
    for (const [file, value] of entries) {
      if (!hasCgroupFile(dir, file)) {
        throw unsupported(`unified.${file}`, `no such file in ${dir} ` +
          `(the kernel has no ${file.split('.')[0]} controller or file)`);
      }
      // One write per line, as io.max and friends parse one at a time.
      for (const line of value.split('\n').filter((l) => l.trim())) {
        writeCgroupFile(dir, file, line);
      }
    }
  },
};

/** Called by the v1 backend: these keys have nowhere to go there. */
export function refuseUnifiedV1(r: LinuxResources): void {
  if (Object.keys(r.unified ?? {}).length > 0) {
    throw unsupported('unified', 'cgroup v2 files, and this host keeps ' +
      'its controllers in cgroup v1');
  }
}

/** The v2 controllers the keys belong to: "memory" for "memory.high". */
export function unifiedControllers(u: Unified | undefined): string[] {
  const names = Object.keys(u ?? {}).map((k) => k.split('.')[0]);
  // "cgroup.*" files are the core's, present without any controller;
  // a name that is no word is left for applyV2 to refuse.
  return [...new Set(names)].filter((n) => /^[a-z_]+$/.test(n) &&
    n !== 'cgroup');
}

/** A file of the cgroup itself: no path, nothing that climbs out. */
function checkName(file: string): void {
  if (!file || file.includes('/') || file.includes('..') ||
    !file.includes('.')) {
    throw unsupported(`unified ${JSON.stringify(file)}`, 'not a cgroup ' +
      'file name (no "/" or "..", and "controller.name")');
  }
}
