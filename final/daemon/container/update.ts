// `docker update`: new limits for a container, running or not. The
// record keeps them (inspect shows them, the next start's spec has
// them); a running container gets them at once, written into its cgroup
// by chapter 03's manager, the one writer of cgroup files.
import os from 'node:os';
import { weightFile } from
  '../../../chapters/03-cgroups/controllers/blkio.ts';
import { detectHierarchies } from
  '../../../chapters/03-cgroups/cgroups/mode.ts';
import type { HostConfig } from '../../api-types.ts';
import { BadRequest, Conflict } from '../errors.ts';
import { resources } from '../ocispec.ts';
import type { Container } from './container.ts';
import type { Containers } from './registry.ts';

/** POST /containers/{id}/update's body: docker's UpdateConfig. */
export type UpdateBody = Pick<HostConfig, 'Memory' | 'MemorySwap' |
  'MemoryReservation' | 'NanoCpus' | 'CpuQuota' | 'CpuPeriod' |
  'CpuShares' | 'CpusetCpus' | 'CpusetMems' | 'PidsLimit' |
  'BlkioWeight' | 'RestartPolicy'>;

/** The fields a non-zero value of the body replaces (moby's rule). */
const REPLACED = ['BlkioWeight', 'CpuShares', 'NanoCpus', 'CpuPeriod',
  'CpuQuota', 'CpusetCpus', 'CpusetMems', 'Memory', 'MemorySwap',
  'MemoryReservation'] as const;

// #region update (unused)
/** moby's ContainerUpdate: the checks, the merge, the live write. */
export async function updateContainer(containers: Containers,
  container: Container, body: UpdateBody): Promise<string[]> {
  const warnings = check(body);
  const old = container.rec.HostConfig;
  conflicts(body, old, container.id);
  const next: HostConfig = { ...old };
  for (const key of REPLACED) {
    if (body[key]) (next as Record<string, unknown>)[key] = body[key];
  }
  if (body.PidsLimit !== undefined && body.PidsLimit !== null) {
    next.PidsLimit = body.PidsLimit;
  }
  if (body.RestartPolicy?.Name) next.RestartPolicy = body.RestartPolicy;
  if (next.BlkioWeight && !weightSupported()) {
    warnings.push('Your kernel does not support Block I/O weight or the ' +
      'cgroup is not mounted. Weight discarded.');
    next.BlkioWeight = old.BlkioWeight;
  }
  if (container.isRunning) await applyLive(containers, container, next);
  container.rec.HostConfig = next;
  container.save();
  containers.event(container, 'update');
  return warnings;
}
// #endregion

/** The new limits into the running container's cgroup. */
async function applyLive(containers: Containers, container: Container,
  next: HostConfig): Promise<void> {
  const limits = resources(next);
  // OCI: a pids limit of 0 or less lifts it (resources() leaves it out).
  if (next.PidsLimit !== undefined && next.PidsLimit !== null &&
    next.PidsLimit <= 0) limits.pids = { limit: -1 };
  try {
    await containers.opts.runtime.cgroup(container.spec(), container.id)
      .apply(limits);
  } catch (err) {
    // The kernel refusing a value (a pids.max past PID_MAX_LIMIT, a
    // cpuset.mems of nodes it has not) is the client's error.
    const Wrap = refusedValue(err) ? BadRequest : Error;
    throw new Wrap(`Cannot update container ${container.id}: ` +
      (err as Error).message, { cause: err });
  }
}

/** EINVAL or ERANGE anywhere down the error's causes. */
function refusedValue(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e;
    e = e.cause as typeof e) {
    if (e.code === 'EINVAL' || e.code === 'ERANGE') return true;
  }
  return /: (EINVAL|ERANGE)$/.test((err as Error)?.message ?? '');
}

/** moby's verifyPlatformContainerResources, for what update takes. */
function check(body: UpdateBody): string[] {
  const ncpu = os.cpus().length;
  if (body.Memory && body.Memory < 6 * 1024 * 1024) {
    throw new BadRequest('Minimum memory limit allowed is 6MB');
  }
  if (body.MemorySwap && body.MemorySwap > 0 && body.Memory &&
    body.MemorySwap < body.Memory) {
    throw new BadRequest('Minimum memoryswap limit should be larger than ' +
      'memory limit, see usage');
  }
  if (body.NanoCpus && (body.CpuPeriod || body.CpuQuota)) {
    throw new BadRequest('Conflicting options: Nano CPUs and CPU ' +
      `${body.CpuPeriod ? 'Period' : 'Quota'} cannot both be set`);
  }
  if (body.NanoCpus && (body.NanoCpus < 0 || body.NanoCpus > ncpu * 1e9)) {
    throw new BadRequest(`Range of CPUs is from 0.01 to ${ncpu}.00, as ` +
      `there are only ${ncpu} CPUs available`);
  }
  if (body.CpuPeriod && (body.CpuPeriod < 1000 ||
    body.CpuPeriod > 1_000_000)) {
    throw new BadRequest('CPU cfs period can not be less than 1ms (i.e. ' +
      '1000) or larger than 1s (i.e. 1000000)');
  }
  if (body.CpuQuota && body.CpuQuota > 0 && body.CpuQuota < 1000) {
    throw new BadRequest('CPU cfs quota can not be less than 1ms (i.e. ' +
      '1000)');
  }
  if (body.BlkioWeight && (body.BlkioWeight < 10 ||
    body.BlkioWeight > 1000)) {
    throw new BadRequest('Range of blkio weight is from 10 to 1000');
  }
  return [];
}

/**
 * moby's UpdateContainer: what the container already has may forbid.
 * As dockerd 20.10, memory alone is refused unless it fits in the swap
 * limit the container has (none counts as 0): give --memory-swap too.
 */
function conflicts(body: UpdateBody, old: HostConfig, id: string): void {
  const refuse = (what: string) => {
    throw new Conflict(`Cannot update container ${id}: ${what}`);
  };
  const conflicting = (what: string) =>
    refuse(`Conflicting options: ${what}`);
  if (body.NanoCpus && old.CpuPeriod) {
    conflicting('Nano CPUs cannot be updated as CPU Period has already ' +
      'been set');
  }
  if (body.NanoCpus && old.CpuQuota) {
    conflicting('Nano CPUs cannot be updated as CPU Quota has already ' +
      'been set');
  }
  if (body.CpuPeriod && old.NanoCpus) {
    conflicting('CPU Period cannot be updated as NanoCPUs has already ' +
      'been set');
  }
  if (body.CpuQuota && old.NanoCpus) {
    conflicting('CPU Quota cannot be updated as NanoCPUs has already ' +
      'been set');
  }
  if (body.Memory && body.Memory > (old.MemorySwap ?? 0) &&
    !body.MemorySwap) {
    refuse('Memory limit should be smaller than already set memoryswap ' +
      'limit, update the memoryswap at the same time');
  }
  if (body.RestartPolicy?.Name && body.RestartPolicy.Name !== 'no' &&
    old.AutoRemove) {
    refuse('Restart policy cannot be updated because AutoRemove is ' +
      'enabled for the container');
  }
}

/** Does the host weigh cgroups' I/O (blkio.weight or io.weight)? */
function weightSupported(): boolean {
  const h = detectHierarchies();
  const blkio = h.v1.get('blkio');
  if (blkio) return weightFile(blkio, false) !== undefined;
  return !!h.unified && weightFile(h.unified, true) !== undefined;
}
