// pids: a cap on the number of tasks (processes and threads), which is
// what stops a fork bomb. Same files on v1 and v2: pids.max, pids.current.
import {
  readCgroupFile, tryReadCgroupFile, writeCgroupFile,
} from '../cgroups/fs.ts';
import { v2Limit, type Controller } from './controller.ts';

// #region pids
export const pids: Controller = {
  name: 'pids', v1: 'pids', v2: 'pids',
  wanted: (r) => r.pids !== undefined,
  applyV1: (dir, r) => writePidsMax(dir, r.pids?.limit),
  applyV2: (dir, r) => writePidsMax(dir, r.pids?.limit),
};

function writePidsMax(dir: string, limit: number | undefined): void {
  if (limit === undefined) return;
  // OCI: zero or less means no limit.
  writeCgroupFile(dir, 'pids.max', limit > 0 ? limit : 'max');
}
// #endregion

export function pidsStats(dir: string):
  { pids: number; pidsLimit: number | null } {
  return {
    pids: Number(readCgroupFile(dir, 'pids.current')),
    pidsLimit: v2Limit(tryReadCgroupFile(dir, 'pids.max')),
  };
}
