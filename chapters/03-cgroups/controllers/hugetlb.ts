// hugetlb: a cap on huge pages (2MB, 1GB, ...) per page size. Huge
// pages are a pool the administrator reserves; without a limit one
// container could take all of it.
// v1: hugetlb.<size>.limit_in_bytes, v2: hugetlb.<size>.max, and since
//     Linux 5.7 the same for reservations (.rsvd.): a limit enforced at
//     mmap(2) time rather than by SIGBUS at the first touch. Both are
//     written, as runc does since 1.2 ("libct/cg: support hugetlb rsvd").
// A hybrid host often has no v1 hugetlb hierarchy: the controller then
// sits in the cgroup2 tree beside them, and the v1 backend puts the
// container there too (v1.ts).
import { readdirSync } from 'node:fs';
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import { hasCgroupFile, writeCgroupFile } from '../cgroups/fs.ts';
import { unsupported, type Controller } from './controller.ts';

type Limits = NonNullable<LinuxResources['hugepageLimits']>;

export const hugetlb: Controller = {
  name: 'hugetlb', v1: 'hugetlb', v2: 'hugetlb',
  wanted: (r) => (r.hugepageLimits?.length ?? 0) > 0,
  applyV1: (dir, r) => writeLimits(dir, r.hugepageLimits ?? [],
    'limit_in_bytes'),
  applyV2: (dir, r) => writeLimits(dir, r.hugepageLimits ?? [], 'max'),
};

function writeLimits(dir: string, limits: Limits, suffix: string): void {
  for (const { pageSize, limit } of limits) {
    const file = `hugetlb.${pageSize}.${suffix}`;
    // "2MB", as the kernel names its files (the spec's format too).
    if (!/^\d+[KMG]B$/.test(pageSize) || !hasCgroupFile(dir, file)) {
      throw unsupported('hugepageLimits', `page size ` +
        `${JSON.stringify(pageSize)}: not one of the kernel's ` +
        `(${pageSizes(dir, suffix).join(', ') || 'none'})`);
    }
    writeCgroupFile(dir, file, limit);
    const rsvd = `hugetlb.${pageSize}.rsvd.${suffix}`;
    if (hasCgroupFile(dir, rsvd)) writeCgroupFile(dir, rsvd, limit);
  }
}

/** The page sizes the cgroup has files for: "2MB", "1GB". */
function pageSizes(dir: string, suffix: string): string[] {
  const re = new RegExp(`^hugetlb\\.(\\d+[KMG]B)\\.${suffix}$`);
  return readdirSync(dir).flatMap((f) => re.exec(f)?.[1] ?? []);
}
