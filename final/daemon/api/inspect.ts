// What `docker ps` and `docker inspect` show of a container.
import { rootfsOf } from '../../../chapters/04-aufs-overlay/overlay.ts';
import { humanDuration } from '../../format.ts';
import type { Container } from '../container/container.ts';
import type { Engine } from '../engine.ts';
import type { Execs } from '../execs.ts';
import type { EndpointConfig } from '../../api-types.ts';
import { parseSubnet } from '../../../chapters/05-network/cidr.ts';
import { leasesOf } from '../../../chapters/05-network/ipam.ts';
import {
  DEFAULT_NETWORK, type NetConfig,
} from '../../../chapters/05-network/networks.ts';
import { macFor } from '../../../chapters/05-network/step.ts';
import {
  NetStore, type Lease,
} from '../../../chapters/05-network/store.ts';
import { healthText } from '../health.ts';

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
    if (state.Paused) return `${up} (Paused)`;
    return state.Health ? `${up} (${healthText(state.Health)})` : up;
  }
  if (state.Status === 'created') return 'Created';
  if (state.Status === 'dead') return 'Dead';
  return `Exited (${state.ExitCode}) ${ago(state.FinishedAt)}`;
}
// #endregion

/** One row of GET /containers/json. */
export function summary(container: Container, net: NetConfig) {
  const rec = container.rec;
  return {
    Id: rec.Id, Names: [rec.Name], Image: rec.Config.Image,
    ImageID: rec.Image, Command: [rec.Path, ...rec.Args].join(' '),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: ports(container), Labels: rec.Config.Labels ?? {},
    State: rec.State.Status, Status: statusText(container),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode || 'default' },
    NetworkSettings: { Networks: networkSettings(net, container).Networks },
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
  // The host ports it got (a free one for -p 80 and -P) while it runs;
  // none once stopped, as dockerd's NetworkSettings.Ports ({}).
  const got = container.rec.StepData?.ports;
  if (!container.isRunning || !got) return [];
  return got.map((p) => ({ IP: p.hostIP || '0.0.0.0',
    PrivatePort: p.containerPort, PublicPort: p.hostPort,
    Type: p.protocol }));
}

/** GET /containers/{id}/json. */
export function inspect(engine: Engine, container: Container,
  execs: Execs) {
  const { PidStartTime, StepData, Endpoints, ...rec } = container.rec;
  void PidStartTime; void StepData; void Endpoints;
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
    NetworkSettings: { ...networkSettings(engine.net, container),
      Ports: portMap(container) },
    Skiff: skiffOnly(container),
  };
}

// #region skiff-only (unused)
/**
 * What skiff knows that docker's inspect has no field for, under a key
 * of its own: Go's decoder (the docker CLI, compose) and docker-py
 * ignore a key they do not know, and no future docker field can take
 * its name. LogLinesDropped: lines this daemon could not write to the
 * json-file log (a full disk, logs.ts); dockerd counts none.
 */
function skiffOnly(container: Container) {
  return { LogLinesDropped: container.log.dropped };
}
// #endregion

/**
 * NetworkSettings as docker shows them: one entry per network, with
 * its address while the container runs; the top-level fields are the
 * default bridge's only (docker keeps them for old clients).
 */
export function networkSettings(net: NetConfig, container: Container) {
  const leases = container.isRunning ? leasesOf(net, container.id) : [];
  const networks: Record<string, ReturnType<typeof endpoint>> = {};
  for (const [name, asked] of Object.entries(endpointsOf(container))) {
    const lease = leases.find((l) => l.network === name)?.lease;
    networks[name] = endpoint(net, name, asked, lease);
  }
  const bridge = networks[DEFAULT_NETWORK];
  return {
    Bridge: '', SandboxID: '', HairpinMode: false,
    LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    SandboxKey: container.isRunning
      ? `/proc/${container.rec.State.Pid}/ns/net` : '',
    SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? '', Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? '', IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: '', MacAddress: bridge?.MacAddress ?? '',
    Networks: networks,
  };
}

/** The networks a container is on; "host"/"none" for those modes. */
function endpointsOf(container: Container)
  : Record<string, EndpointConfig> {
  const mode = container.rec.HostConfig.NetworkMode || 'default';
  if (mode === 'host' || mode === 'none') return { [mode]: {} };
  if (container.rec.Endpoints) return container.rec.Endpoints;
  // A container created before skiff kept its endpoints.
  if (mode.startsWith('container:')) return {};
  return { [mode === 'default' ? DEFAULT_NETWORK : mode]: {} };
}

function endpoint(net: NetConfig, network: string, asked: EndpointConfig,
  lease?: Lease) {
  const rec = lease && new NetStore(net.stateDir).read(network);
  return {
    IPAMConfig: asked.IPAMConfig ?? null, Links: null,
    Aliases: asked.Aliases?.length ? asked.Aliases : null,
    NetworkID: rec ? rec.id : '', EndpointID: lease?.veth ?? '',
    Gateway: rec ? rec.gateway : '', IPAddress: lease?.ip ?? '',
    IPPrefixLen: rec ? parseSubnet(rec.subnet).bits : 0,
    IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    MacAddress: lease ? macFor(lease.ip) : '', DriverOpts: null,
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
