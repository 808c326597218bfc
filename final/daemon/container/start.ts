// `docker start`: the spec built from the record (ocispec.ts), handed to
// the runtime with what the container asks of the host; what the start
// gave (pid, what its steps must undo) goes into the record.
import { join } from 'node:path';
import type { Spec } from '../../../chapters/02-namespaces/spec.ts';
import { ContainerIo } from '../io.ts';
import { buildSpec, volumesToSeed } from '../ocispec.ts';
import {
  cgroupParent, processStartTime, type Running, type StartPlan,
} from '../runtime.ts';
import { writeJson } from '../state.ts';
import { Conflict, NotModified } from '../errors.ts';
import { type Container, freshState } from './container.ts';
import { exited, volumeEvents } from './exit.ts';
import { fromPortBindings } from '../../../chapters/05-network/ports.ts';
import { publishedPorts } from './ports.ts';
import {
  extraHosts, firstNetwork, hostGateway, joinStep, linkHosts, withShortId,
} from './connect.ts';
import {
  DEFAULT_NETWORK,
} from '../../../chapters/05-network/networks.ts';
import type { Containers } from './registry.ts';
import { removeContainer } from './remove.ts';

// #region start-spec
export async function startContainer(containers: Containers,
  container: Container): Promise<void> {
  if (container.isRunning) throw new NotModified('already running');
  clearTimeout(container.restartTimer);
  container.stopping = false;
  container.rec.HasBeenManuallyStopped = false;
  const spec = buildSpec(container.rec, { cgroupParent: cgroupParent(),
    remap: containers.opts.remap });
  const config = container.rec.Config;
  const io = new ContainerIo(container.dir, !!config.Tty,
    !!config.OpenStdin);
  io.setup(container.log);
  // #endregion
  // #region start-run
  let running: Running;
  container.starting = true; // its steps are not orphans (sweep.ts)
  try {
    running = await containers.opts.runtime.start(
      plan(containers, container, spec, io));
  } catch (err) {
    io.destroy();
    await failed(containers, container, err);
    throw err;
  } finally {
    container.starting = false;
    io.closeChildSide();
  }
  // The spec as its init read it, the steps' additions included.
  writeJson(join(container.dir, 'config.json'), spec);
  container.io = io;
  container.running = running;
  container.rec.State = { ...freshState(), Status: 'running',
    Running: true, Pid: running.pid, StartedAt: new Date().toISOString(),
    Health: container.rec.State.Health };
  container.rec.PidStartTime = processStartTime(running.pid);
  container.rec.StepData = running.saved;
  containers.health.watch(container);
  container.save();
  volumeEvents(containers, container, 'mount');
  containers.event(container, 'start');
  container.emit('start');
  void running.exited.then((status) =>
    exited(containers, container, status));
}
// #endregion

/** A start that failed: its error in the record; --rm removes it. */
async function failed(containers: Containers, container: Container,
  err: unknown): Promise<void> {
  const code = (err as { exitCode?: number }).exitCode;
  container.rec.State = { ...container.rec.State, Status: 'created',
    Error: (err as Error).message, ExitCode: code ?? 125 };
  container.save();
  // As moby: --rm removes a container that failed to start too
  // (docker's CLI waits for that removal before it exits).
  if (container.rec.HostConfig.AutoRemove) {
    await removeContainer(containers, container, true).catch(() => {});
  }
}

/** What the container asks of the host besides its spec. */
function plan(containers: Containers, container: Container, spec: Spec,
  io: ContainerIo): StartPlan {
  const hostConfig = container.rec.HostConfig;
  const first = firstNetwork(containers, hostConfig.NetworkMode);
  const endpoints = container.rec.Endpoints ?? {};
  for (const [name, endpoint] of Object.entries(endpoints)) {
    endpoint.Aliases = withShortId(container, name, endpoint.Aliases);
  }
  const onUserNetwork = [first, ...Object.keys(endpoints)]
    .some((n) => n && n !== DEFAULT_NETWORK);
  return {
    ip: (first && endpoints[first]?.IPAMConfig?.IPv4Address) || undefined,
    extraHosts: [...linkHosts(containers, hostConfig.Links ?? [], first),
      ...extraHosts(hostConfig.ExtraHosts ?? [],
        hostGateway(containers.opts.net))],
    dns: { servers: hostConfig.Dns ?? [], search: hostConfig.DnsSearch ??
      [], options: hostConfig.DnsOptions ?? [], embedded: onUserNetwork },
    steps: [joinStep(containers, container, first)],
    id: container.id, spec, image: container.rec.Image,
    dir: container.dir, remap: containers.opts.remap, fds: io.fds,
    network: first ?? hostConfig.NetworkMode ?? 'default',
    publish: fromPortBindings(publishedPorts(hostConfig,
      container.rec.Config)), name: container.name,
    seed: volumesToSeed(container.rec),
    filesDir: join(container.dir, 'net'),
    resolveContainer: (ref) => {
      const other = containers.get(ref);
      if (!other.isRunning) {
        throw new Conflict(`container ${ref} is not running`);
      }
      return { pid: other.rec.State.Pid, id: other.id };
    },
  };
}
