// freezer: stop every process of a cgroup at once, without a signal the
// processes could see or catch (`docker pause`).
// v1: the freezer hierarchy's freezer.state: write FROZEN or THAWED; it
//     reads FREEZING until every task has stopped.
// v2: a core file, no controller to enable: cgroup.freeze 1/0, and
//     "frozen 1" in cgroup.events once it is done.
import {
  parseKeyed, readCgroupFile, tryReadCgroupFile, writeCgroupFile,
} from '../cgroups/fs.ts';

export type FreezerState = 'thawed' | 'freezing' | 'frozen';

// #region freezer
export function setFrozenV1(dir: string, frozen: boolean): void {
  writeCgroupFile(dir, 'freezer.state', frozen ? 'FROZEN' : 'THAWED');
}

export function freezerStateV1(dir: string): FreezerState {
  return readCgroupFile(dir, 'freezer.state').toLowerCase() as FreezerState;
}

export function setFrozenV2(dir: string, frozen: boolean): void {
  writeCgroupFile(dir, 'cgroup.freeze', frozen ? 1 : 0);
}

export function freezerStateV2(dir: string): FreezerState {
  const asked = tryReadCgroupFile(dir, 'cgroup.freeze') === '1';
  const done = parseKeyed(tryReadCgroupFile(dir, 'cgroup.events'))
    .get('frozen') === 1;
  if (asked) return done ? 'frozen' : 'freezing';
  return 'thawed';
}
// #endregion
