// The start step that puts a container in its cgroup. It plugs into
// chapter 02's start sequence:
//   prepare  create /skiff/<id> and write the limits, before any process
//            exists, so a refused limit fails the start cleanly
//   attach   write the init's pid into cgroup.procs while it waits at
//            the barrier: the command starts inside, its children too
//   release  kill stragglers, remove the cgroup
import type { LinuxResources, Spec } from '../02-namespaces/spec.ts';
import type { StartStep, Starting } from '../02-namespaces/steps.ts';
import { normalizeCgroupPath } from './cgroups/common.ts';
import {
  createCgroup, type Cgroup, type CgroupOptions,
} from './cgroups/manager.ts';
import { DEFAULT_DEVICE_RULES } from './controllers/devices.ts';

export interface CgroupStepOptions extends CgroupOptions {
  /** Where containers' cgroups go unless the spec says; "/skiff". */
  parent?: string;
  /** Add Docker's device rules when the spec has none (default true). */
  defaultDevices?: boolean;
}

export const DEFAULT_CGROUP_PARENT = '/skiff';

/** The cgroup a container gets: spec.linux.cgroupsPath or parent/id. */
export function cgroupPathOf(spec: Spec, id: string,
  parent = DEFAULT_CGROUP_PARENT): string {
  return normalizeCgroupPath(spec.linux.cgroupsPath ?? `${parent}/${id}`);
}

/** The resources to apply: the spec's, with Docker's default devices. */
export function resourcesOf(spec: Spec, defaultDevices = true):
  LinuxResources {
  const r = spec.linux.resources ?? {};
  if (!defaultDevices || r.devices !== undefined) return r;
  return { ...r, devices: DEFAULT_DEVICE_RULES };
}

// #region cgroup-step
export interface CgroupStep extends StartStep {
  /** The cgroup of the container this step last started. */
  readonly cgroup: Cgroup | undefined;
}

export function cgroupStep(opts: CgroupStepOptions = {}): CgroupStep {
  let last: Cgroup | undefined;
  return {
    name: 'cgroup',
    get cgroup() { return last; },
    async prepare(c: Starting) {
      const path = cgroupPathOf(c.spec, c.id, opts.parent);
      const resources = resourcesOf(c.spec, opts.defaultDevices);
      last = await createCgroup(path, resources, opts);
      c.data.cgroup = last;
    },
    attach(c: Starting) {
      cgroupOf(c)?.addProcess(c.pid);
    },
    async release(c: Starting) {
      await cgroupOf(c)?.destroy(); // kills stragglers, then rmdir
    },
  };
}
// #endregion

/** The cgroup the step made for a container being started. */
export function cgroupOf(c: Starting): Cgroup | undefined {
  return c.data.cgroup as Cgroup | undefined;
}
