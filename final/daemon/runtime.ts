// How the daemon starts a container's process: the one seam between the
// engine and the chapters. Chapter 02's two-step start runs the steps of
// chapter 04 (the image's layers as the rootfs, the container's layer
// kept from create to remove, as docker keeps it), the engine's own
// (start-steps.ts: the user, the chown of --userns-remap), chapter 03
// (the cgroup) and chapter 05 (the network). Everything else in the
// daemon (state, logs, restart policies) only sees the interfaces below.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execInContainer, type ExecHandle, type ExecStep } from
  '../../chapters/02-namespaces/exec.ts';
import type {
  LinuxSeccomp, Process, Spec,
} from '../../chapters/02-namespaces/spec.ts';
import { procStat } from '../../chapters/02-namespaces/procfs.ts';
import {
  startContainer, type StdioEntry, trampolineArgs,
} from '../../chapters/02-namespaces/start.ts';
import { defaultSpec } from '../../chapters/02-namespaces/defaults.ts';
import type { StartStep, Starting } from
  '../../chapters/02-namespaces/steps.ts';
import { openCgroup, type Cgroup } from
  '../../chapters/03-cgroups/cgroups/manager.ts';
import { cgroupPathOf, cgroupStep } from '../../chapters/03-cgroups/step.ts';
import { overlayStep } from '../../chapters/04-aufs-overlay/overlay.ts';
import type { ImageStore } from '../../chapters/04-aufs-overlay/store.ts';
import { findLease } from '../../chapters/05-network/ipam.ts';
import {
  netConfigFromEnv, type NetConfig,
} from '../../chapters/05-network/networks.ts';
import type {
  PortMapping, PublishedPort,
} from '../../chapters/05-network/ports.ts';
import type { DnsSettings } from '../../chapters/05-network/resolv.ts';
import {
  networkStep, type NetworkStepData,
} from '../../chapters/05-network/step.ts';
import { FAST_INIT, SpareInits } from '../fast/spare.ts';
import type { ContainerFds } from './io.ts';
import { DOCKER_NAMESPACES } from './ocispec.ts';
import { chownStep, seedStep, userStep } from './start-steps.ts';
import { idmappedRootfs, isChowned, type Remap } from './userns.ts';

/** How a process ended: docker's exit code (128+N for signal N). */
export interface ExitStatus {
  code: number;
  signal?: string;
}

/** What a later daemon needs to undo a container's steps (JSON). */
export interface SavedSteps {
  cgroup: string;
  network?: Omit<NetworkStepData, 'reservation'>;
  /** The host ports published, those picked for -p 80 and -P too. */
  ports?: PublishedPort[];
}

export interface Running {
  /** Host pid of the container's first process. */
  pid: number;
  /** Resolves once the process is reaped. */
  exited: Promise<ExitStatus>;
  kill(signal: NodeJS.Signals | number): void;
  /** Undoes the start steps (cgroup, veth, leases). Idempotent. */
  release(): Promise<void>;
  saved: SavedSteps;
}

/** What a container asks of the host besides its spec. */
export interface StartPlan {
  id: string;
  /** Built from the container's record (ocispec.ts); steps add to it. */
  spec: Spec;
  /** The image whose layers are the rootfs (chapter 04's store). */
  image: string;
  /** The container's directory (marks a chown'd rootfs). */
  dir: string;
  /** --userns-remap's range, for a spec with a user namespace. */
  remap?: Remap;
  fds: ContainerFds;
  /** --network: "default", "bridge", "none", "host", "container:x". */
  network: string;
  /** -p mappings, from HostConfig.PortBindings. */
  publish: PortMapping[];
  /** Volumes to fill with the image's files if empty (ocispec.ts). */
  seed?: { source: string; destination: string }[];
  /** The container's name (an alias in /etc/hosts). */
  name: string;
  /** Where the container's hostname, hosts and resolv.conf go. */
  filesDir: string;
  /** Pid and id of a running container, for --network container:x. */
  resolveContainer(ref: string): { pid: number; id?: string };
  /** --ip on its first network. */
  ip?: string;
  /** --add-host's [name, address] pairs. */
  extraHosts?: [string, string][];
  /** --dns* and whether the embedded DNS server answers. */
  dns?: DnsSettings;
  /** The engine's steps after the network's (other networks, DNS). */
  steps?: StartStep[];
}

export interface Runtime {
  readonly name: string;
  start(plan: StartPlan): Promise<Running>;
  /** Undoes the steps of a container a previous daemon started. */
  releaseSaved(id: string, saved: SavedSteps): Promise<void>;
  exec(pid: number, cgroupPath: string, proc: Process,
    stdio: [StdioEntry, StdioEntry, StdioEntry],
    seccomp?: LinuxSeccomp): Promise<ExecHandle>;
  /** The cgroup of a container, for stats and pause. */
  cgroup(spec: Spec, id: string): Cgroup;
  /** The container's address on its network, if it has one. */
  address(id: string): string | undefined;
}

/** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
export function processStartTime(pid: number): number | undefined {
  return procStat(pid)?.startTime;
}

/**
 * The engine's network configuration: chapter 05's defaults (bridge
 * skiff0, 172.28.0.0/16, chains SKIFF-*), overridden by SKIFF_NET_*,
 * with its leases under the engine's root unless SKIFF_NET_DIR says.
 */
export function engineNetConfig(root: string): NetConfig {
  const cfg = netConfigFromEnv();
  if (!process.env.SKIFF_NET_DIR) cfg.stateDir = join(root, 'network');
  return cfg;
}

/** Where containers' cgroups go: /skiff, or SKIFF_CGROUP_PARENT. */
export function cgroupParent(): string {
  return process.env.SKIFF_CGROUP_PARENT || '/skiff';
}

// #region chapter-runtime (unused)
/**
 * The runtime made of the chapters: chapter 02's startContainer with
 * their steps. The init is the daemon's own child (the trampoline clones
 * it with CLONE_PARENT): no process per container but the container's,
 * plus one spare init for the next start (SKIFF_SPARE_INIT=0: none).
 */
export function chapterRuntime(net: NetConfig, store: ImageStore)
  : Runtime {
  // Every init is chapter 06's (chapter 02's plus the confinement), in
  // the engine's bundle, which warms up as a spare (final/fast).
  const spares = process.env.SKIFF_SPARE_INIT === '0' ? undefined
    : new SpareInits(FAST_INIT);
  // One ready for the first `run`, with docker's namespaces.
  void spares?.prepare(trampolineArgs(defaultSpec({ rootfs: '/',
    args: ['true'], namespaces: DOCKER_NAMESPACES }))).catch(() => {});
  return {
    name: 'skiff',
    async start(plan) {
      // #region runtime-steps
      const rootfs = rootfsSteps(store, plan);
      const cgroup = cgroupStep();
      const steps = [...rootfs.steps, seedStep(plan.seed ?? []),
        userStep(), cgroup, networkStep({
        network: plan.network, publish: plan.publish, name: plan.name,
        hostname: plan.spec.hostname, config: net,
        filesDir: plan.filesDir, resolveContainer: plan.resolveContainer,
        ip: plan.ip, extraHosts: plan.extraHosts, dns: plan.dns,
      }), ...plan.steps ?? []];
      // #endregion
      // #region runtime-started
      const { fds } = plan;
      const container = await startContainer(plan.spec, { id: plan.id,
        steps, stdio: [fds.stdin, fds.stdout, fds.stderr],
        launcher: spares?.launch, init: FAST_INIT,
        idmapRoot: rootfs.idmapRoot, rootTree: rootfs.rootTree });
      if (container.console !== undefined) fds.console?.(container.console);
      return {
        pid: container.pid,
        exited: container.wait(),
        kill: (signal) => container.kill(signal),
        release: () => container.destroy(),
        saved: saveSteps(cgroup.cgroup!, container.data),
      };
      // #endregion
    },
    async releaseSaved(id, saved) {
      const starting: Starting = { id, spec: {} as Spec, pid: 0,
        data: { network: saved.network, rootfs: true } };
      try {
        await openCgroup(saved.cgroup).destroy();
      } catch { /* already gone */ }
      await networkStep({ config: net }).release?.(starting);
      await overlayStep(store, '', { keep: true }).release?.(starting);
    },
    exec(pid, cgroupPath, proc, stdio, seccomp) {
      const join: ExecStep = { name: 'cgroup', attach(exec) {
        openCgroup(cgroupPath).addProcess(exec.pid);
      } };
      return execInContainer(pid, proc, { steps: [join], stdio,
        init: FAST_INIT, seccomp });
    },
    cgroup(spec, id) {
      return openCgroup(cgroupPathOf(spec, id, cgroupParent()));
    },
    address(id) {
      return findLease(net, id)?.lease.ip;
    },
  };
}
// #endregion

// #region rootfs-steps
/**
 * The rootfs: chapter 04's overlay of the image's layers under the
 * container's own, kept across runs. Under --userns-remap the init gets
 * a second overlay of the same layers through idmapped mounts, or,
 * where the kernel cannot, the rootfs's owners are shifted once.
 */
function rootfsSteps(store: ImageStore, plan: StartPlan): {
  steps: StartStep[]; idmapRoot: boolean;
  rootTree?: (userns: string) => number;
} {
  const steps = [overlayStep(store, plan.image, { keep: true })];
  const remap = plan.spec.linux.uidMappings ? plan.remap : undefined;
  if (!remap) return { steps, idmapRoot: !isChowned(plan.dir) };
  if (remap.rootfs === 'chown' || isChowned(plan.dir)) {
    return { steps: [...steps, chownStep(plan.dir, remap)],
      idmapRoot: false };
  }
  return { steps, idmapRoot: true,
    rootTree: idmappedRootfs(store, plan.id, remap) };
}
// #endregion

/** What the steps recorded, as JSON a later daemon can undo them by. */
function saveSteps(cgroup: Cgroup, data: Readonly<Record<string, unknown>>)
  : SavedSteps {
  const network = data.network as NetworkStepData | undefined;
  if (!network) return { cgroup: cgroup.path };
  const { mode, filesDir } = network;
  return { cgroup: cgroup.path, network: { mode, filesDir },
    ports: network.reservation?.lease.ports };
}

/** Every pid in a process's tree, for `top`. */
export function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let kids: string[] = [];
    try {
      for (const t of readdirSync(`/proc/${out[i]}/task`)) {
        kids.push(...readFileSync(`/proc/${out[i]}/task/${t}/children`,
          'utf8').trim().split(' ').filter(Boolean));
      }
    } catch { kids = []; }
    out.push(...kids.map(Number));
  }
  return out;
}
