// What `docker ps` and `docker inspect` show of a container.
import { rootfsOf } from '../../../chapters/04-aufs-overlay/overlay.ts';
import { humanDuration } from '../../format.ts';
import type { Container } from '../container/container.ts';
import { publishedPorts } from '../container/ports.ts';
import type { Engine } from '../engine.ts';
import type { Execs } from '../execs.ts';

// #region status
/** docker ps's STATUS column, which the daemon computes. */
export function statusText(container: Container, now = Date.now()): string {
  const state = container.rec.State;
  const ago = (time: string) =>
    `${humanDuration(now - Date.parse(time))} ago`;
  if (state.Restarting) {
    return `Restarting (${state.ExitCode}) ${ago(state.FinishedAt)}`;
  }
  if (state.Running) {
    const up = `Up ${humanDuration(now - Date.parse(state.StartedAt))}`;
    return state.Paused ? `${up} (Paused)` : up;
  }
  if (state.Status === 'created') return 'Created';
  if (state.Status === 'dead') return 'Dead';
  return `Exited (${state.ExitCode}) ${ago(state.FinishedAt)}`;
}
// #endregion

/** One row of GET /containers/json. */
export function summary(container: Container) {
  const rec = container.rec;
  return {
    Id: rec.Id, Names: [rec.Name], Image: rec.Config.Image,
    ImageID: rec.Image, Command: [rec.Path, ...rec.Args].join(' '),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: ports(container), Labels: rec.Config.Labels ?? {},
    State: rec.State.Status, Status: statusText(container),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode || 'default' },
    NetworkSettings: { Networks: {} },
    Mounts: rec.Mounts,
  };
}

interface PortRow {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

function ports(container: Container): PortRow[] {
  const rows: PortRow[] = [];
  for (const [key, binds] of Object.entries(
    publishedPorts(container.rec.HostConfig))) {
    const [port, proto = 'tcp'] = key.split('/');
    for (const bind of binds ?? []) {
      rows.push({ IP: bind.HostIp || '0.0.0.0', PrivatePort: Number(port),
        PublicPort: Number(bind.HostPort) || undefined, Type: proto });
    }
  }
  return rows;
}

/** GET /containers/{id}/json. */
export function inspect(engine: Engine, container: Container,
  execs: Execs) {
  const { PidStartTime, StepData, ...rec } = container.rec;
  void PidStartTime; void StepData;
  const ip = container.isRunning
    ? engine.runtime.address(container.id) ?? '' : '';
  const mode = rec.HostConfig.NetworkMode || 'default';
  const network = mode === 'default' ? 'bridge' : mode;
  const files = (file: string) => `${container.dir}/net/${file}`;
  const ids = execs.of(container);
  return {
    ...rec,
    // records from before LogConfig was kept: the default driver
    HostConfig: { ...rec.HostConfig, LogConfig: rec.HostConfig.LogConfig ??
      { Type: 'json-file', Config: {} } },
    ResolvConfPath: files('resolv.conf'),
    HostnamePath: files('hostname'), HostsPath: files('hosts'),
    MountLabel: '', ProcessLabel: '', AppArmorProfile: '',
    ExecIDs: ids.length ? ids : null,
    GraphDriver: { Name: 'overlay2', Data: { MergedDir:
      rootfsOf(engine.images.store, container.id).merged } },
    NetworkSettings: {
      Ports: portMap(container), IPAddress: ip, IPPrefixLen: ip ? 24 : 0,
      Networks: ip ? { [network]: { IPAddress: ip } } : {},
    },
  };
}

/** docker inspect's NetworkSettings.Ports: "80/tcp" -> host bindings. */
function portMap(container: Container) {
  const map: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const row of ports(container)) {
    (map[`${row.PrivatePort}/${row.Type}`] ??= []).push({
      HostIp: row.IP ?? '0.0.0.0', HostPort: String(row.PublicPort ?? '') });
  }
  return map;
}
