// devices: which device nodes the processes may create (mknod) and open.
// Without it, root in a container could mknod the host's disk and read
// it raw. Rules are "type major:minor access", e.g. "c 1:3 rwm"; later
// rules override earlier ones.
// v1: the devices hierarchy: write "a" to devices.deny (deny all), then
//     each allowed device to devices.allow.
// v2: no files at all: the kernel runs a BPF program attached to the
//     cgroup on every mknod/open of a device (devices-bpf.ts).
import type { DeviceRule } from '../../02-namespaces/spec.ts';
import { writeCgroupFile } from '../cgroups/fs.ts';
import type { Controller } from './controller.ts';
import { attachDeviceFilter } from './devices-bpf.ts';

// #region default-devices
/** Docker's default: deny everything but these (moby, oci/defaults.go). */
export const DEFAULT_DEVICE_RULES: DeviceRule[] = [
  { allow: false, access: 'rwm' },
  // mknod of any node is allowed; opening it is what is checked.
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },   // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },   // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },   // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },   // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },   // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },   // tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },   // console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },   // ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' },           // pts/*
];
// #endregion

/** "c 1:3 rwm", the v1 syntax; "a" stands for every type. */
export function ruleToString(rule: DeviceRule): string {
  const n = (x: number | undefined) => (x === undefined || x < 0 ? '*' : x);
  return `${rule.type ?? 'a'} ${n(rule.major)}:${n(rule.minor)} ` +
    `${rule.access || 'rwm'}`;
}

// #region devices
export const devices: Controller = {
  name: 'devices', v1: 'devices', v2: null,
  wanted: (r) => (r.devices?.length ?? 0) > 0,
  applyV1(dir, r) {
    for (const rule of r.devices ?? []) {
      const file = rule.allow ? 'devices.allow' : 'devices.deny';
      writeCgroupFile(dir, file, ruleToString(rule));
    }
  },
  applyV2(dir, r) {
    if (r.devices?.length) attachDeviceFilter(dir, r.devices);
  },
};
// #endregion
