// How the daemon starts a container's process: the one seam between the
// engine and the chapters. Chapter 02's two-step start runs the steps
// chapter 03 (the cgroup) and chapter 05 (the network) add to it; the
// rootfs (chapter 04) is the image source's, made when the container is
// created and kept until it is removed, as docker keeps a container's
// layer. Everything else in the daemon (state, logs, restart policies)
// only sees the interfaces below.
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
import { findLease } from '../../chapters/05-network/ipam.ts';
import {
  netConfigFromEnv, type NetConfig,
} from '../../chapters/05-network/networks.ts';
import type { PortMapping } from '../../chapters/05-network/ports.ts';
import { networkStep } from '../../chapters/05-network/step.ts';
import { FAST_INIT, SpareInits } from '../fast/spare.ts';
import type { ContainerFds } from './io.ts';
import { DOCKER_NAMESPACES } from './ocispec.ts';

/** How a process ended: docker's exit code (128+N for signal N). */
export interface ExitStatus {
  code: number;
  signal?: string;
}

/** What a later daemon needs to undo a container's steps (JSON). */
export interface SavedSteps {
  cgroup: string;
  network?: unknown;
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
  spec: Spec;
  fds: ContainerFds;
  /** --network: "default", "bridge", "none", "host", "container:x". */
  network: string;
  /** -p mappings, from HostConfig.PortBindings. */
  publish: PortMapping[];
  /** The container's name (an alias in /etc/hosts). */
  name: string;
  /** Where the container's hostname, hosts and resolv.conf go. */
  filesDir: string;
  /** Pid and id of a running container, for --network container:x. */
  resolveContainer(ref: string): { pid: number; id?: string };
  /** Its rootfs was chown'd into the remap range: no idmapped mount. */
  rootfsChowned?: boolean;
  /** Under --userns-remap: its rootfs remade over idmapped layers. */
  rootTree?: (userns: string) => number;
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
 * chapter 03's cgroup step and chapter 05's network step. The init is
 * the daemon's own child (the trampoline clones it with CLONE_PARENT):
 * no process per container but the container's, plus one spare init
 * for the next start (SKIFF_SPARE_INIT=0: none).
 */
// #region runtime-steps
export function chapterRuntime(net: NetConfig): Runtime {
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
      let data: Record<string, unknown> = {};
      const record: StartStep = { name: 'record',
        prepare(c) { data = c.data; } };
      const steps = [record, cgroupStep(), networkStep({
        network: plan.network, publish: plan.publish, name: plan.name,
        hostname: plan.spec.hostname, config: net,
        filesDir: plan.filesDir, resolveContainer: plan.resolveContainer,
      })];
// #endregion
      // #region runtime-started
      const { fds } = plan;
      const ctr = await startContainer(plan.spec, { id: plan.id, steps,
        stdio: [fds.stdin, fds.stdout, fds.stderr],
        launcher: spares?.launch, init: FAST_INIT,
        idmapRoot: !plan.rootfsChowned, rootTree: plan.rootTree });
      if (ctr.console !== undefined) fds.console?.(ctr.console);
      return {
        pid: ctr.pid,
        exited: ctr.wait(),
        kill: (sig) => ctr.kill(sig),
        release: () => ctr.destroy(),
        saved: saveSteps(plan.spec, plan.id, data),
      };
      // #endregion
    },
    async releaseSaved(id, saved) {
      const c: Starting = { id, spec: {} as Spec, pid: 0, data: {} };
      if (saved.network) c.data.network = saved.network;
      try {
        await openCgroup(saved.cgroup).destroy();
      } catch { /* already gone */ }
      await networkStep({ config: net }).release?.(c);
    },
    exec(pid, cgroupPath, proc, stdio, seccomp) {
      const join: ExecStep = { name: 'cgroup', attach(e) {
        openCgroup(cgroupPath).addProcess(e.pid);
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

function saveSteps(spec: Spec, id: string, data: Record<string, unknown>)
  : SavedSteps {
  const network = data.network as { reservation?: unknown } | undefined;
  const { reservation, ...rest } = network ?? {};
  void reservation;
  return { cgroup: cgroupPathOf(spec, id, cgroupParent()),
    network: network ? rest : undefined };
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
