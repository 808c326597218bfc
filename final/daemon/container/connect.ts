// `docker network connect|disconnect`: a container joins or leaves a
// network. A running one gets (or loses) a veth pair in its namespace
// at once, by chapter 05's own functions; a created one has it noted
// for its start. A container's first network is chapter 05's network
// step; the others are joined by joinStep, right after it.
import net from 'node:net';
import type { StartStep } from '../../../chapters/02-namespaces/steps.ts';
import {
  findLease, leasesOf, releaseEndpoint, reserve,
} from '../../../chapters/05-network/ipam.ts';
import { intToIp, parseSubnet } from
  '../../../chapters/05-network/cidr.ts';
import {
  DEFAULT_NETWORK, type NetConfig,
} from '../../../chapters/05-network/networks.ts';
import {
  attachEndpoint, freeIfname, parseNetworkMode,
} from '../../../chapters/05-network/step.ts';
import type { CreateBody, EndpointConfig } from '../../api-types.ts';
import { BadRequest, Conflict, Forbidden } from '../errors.ts';
import type { Container } from './container.ts';
import type { Containers } from './registry.ts';

/** A network's name from a name or id prefix (404 when missing). */
function networkName(containers: Containers, ref: string): string {
  return containers.opts.networks.inspect(ref).Name;
}

/** The network `--network` names, or undefined for host/none/container. */
export function firstNetwork(containers: Containers, mode = 'default')
  : string | undefined {
  const parsed = parseNetworkMode(mode);
  return parsed.kind === 'bridge'
    ? networkName(containers, parsed.network) : undefined;
}

function checkAliases(network: string, config: EndpointConfig): void {
  if (network === DEFAULT_NETWORK && config.Aliases?.length) {
    throw new BadRequest('network-scoped aliases are only supported for ' +
      'user-defined networks');
  }
}

/**
 * The networks a new container will join: --network's first, with what
 * NetworkingConfig asks of it (aliases, --ip), then any other network
 * NetworkingConfig names (API 1.44 takes several at create).
 */
export function endpointsAtCreate(containers: Containers, body: CreateBody)
  : Record<string, EndpointConfig> {
  const mode = body.HostConfig?.NetworkMode || 'default';
  const first = firstNetwork(containers, mode);
  if (!first) return {};
  const asked = { ...body.NetworkingConfig?.EndpointsConfig };
  const out: Record<string, EndpointConfig> = {};
  const firstConfig = asked[mode] ?? asked[first] ?? {};
  delete asked[mode];
  delete asked[first];
  for (const [ref, config] of [[first, firstConfig] as const,
    ...Object.entries(asked)]) {
    const name = networkName(containers, ref);
    checkAliases(name, config ?? {});
    out[name] = { IPAMConfig: config?.IPAMConfig ?? null,
      Aliases: config?.Aliases?.length ? [...config.Aliases] : null };
  }
  return out;
}

/** docker's network event for a container joining or leaving one. */
export function networkEvent(containers: Containers, action: string,
  network: string, container: string): void {
  const n = containers.opts.networks.inspect(network);
  containers.opts.events.emit('network', action, n.Id,
    { container, name: n.Name, type: n.Driver });
}

/** Docker adds the short id to a user network's aliases. */
export function withShortId(container: Container, network: string,
  aliases?: string[] | null): string[] | null {
  if (network === DEFAULT_NETWORK) return aliases?.length ? aliases : null;
  const short = container.id.slice(0, 12);
  const list = [...aliases ?? []];
  return list.includes(short) ? list : [...list, short];
}

/** Whether `network connect` may add networks to this container. */
function checkMode(container: Container): void {
  const mode = parseNetworkMode(container.rec.HostConfig.NetworkMode ||
    'default');
  if (mode.kind === 'host') {
    throw new BadRequest('container cannot be disconnected from host ' +
      'network or connected to host network');
  }
  if (mode.kind === 'none') {
    throw new BadRequest('container cannot be connected to multiple ' +
      'networks with one of the networks in private (none) mode');
  }
  if (mode.kind === 'container') {
    throw new BadRequest('container sharing network namespace with ' +
      'another container or host cannot be connected to any other network');
  }
}

// #region connect
export function connectContainer(containers: Containers,
  container: Container, ref: string, config: EndpointConfig = {}): string {
  const network = networkName(containers, ref);
  if (network === 'host' || network === 'none') {
    throw new BadRequest(`container cannot be connected to the ${network}` +
      ' network');
  }
  checkMode(container);
  checkAliases(network, config);
  const endpoints = container.rec.Endpoints ??= {};
  const cfg = containers.opts.net;
  if (endpoints[network] || (container.isRunning &&
    findLease(cfg, container.id, network))) {
    throw new Forbidden(`endpoint with name ${container.name} already ` +
      `exists in network ${network}`);
  }
  const endpoint: EndpointConfig = { IPAMConfig: config.IPAMConfig ?? {},
    Aliases: withShortId(container, network, config.Aliases) };
  if (container.isRunning) plugInto(containers, container, network, endpoint);
  endpoints[network] = endpoint;
  container.save();
  return network;
}
// #endregion

/** A running container's new veth pair on `network` (ethN, no route). */
function plugInto(containers: Containers, container: Container,
  network: string, endpoint: EndpointConfig): void {
  const cfg = containers.opts.net;
  const pid = container.rec.State.Pid;
  try {
    const r = reserve(cfg, network, container.id, hostnameOf(container), [],
      endpoint.IPAMConfig?.IPv4Address || undefined);
    attachEndpoint(cfg, r, pid, freeIfname(pid));
    if (network !== DEFAULT_NETWORK) containers.opts.dns?.listen(
      container.id, pid);
  } catch (err) {
    releaseEndpoint(cfg, network, container.id);
    throw err;
  }
}

function hostnameOf(container: Container): string {
  return container.rec.Config.Hostname || container.id.slice(0, 12);
}

export function disconnectContainer(containers: Containers,
  container: Container, ref: string): string {
  const network = networkName(containers, ref);
  checkMode(container);
  const endpoints = container.rec.Endpoints ?? {};
  const cfg = containers.opts.net;
  const lease = container.isRunning
    ? findLease(cfg, container.id, network) : undefined;
  if (!endpoints[network] && !lease) {
    throw new Error(`container ${container.id} is not connected to the ` +
      `network ${network}`);
  }
  // Deleting the host's end of the pair deletes the container's too.
  if (lease) releaseEndpoint(cfg, network, container.id);
  delete endpoints[network];
  container.rec.Endpoints = endpoints;
  container.save();
  return network;
}

// #region join-step
/**
 * The start step after chapter 05's: the container's other networks
 * (eth1, eth2... in the order they were connected), then the embedded
 * DNS server in its namespace when it is on a user network. Chapter 05's
 * release gives every lease back; this one closes the server.
 */
export function joinStep(containers: Containers, container: Container,
  first?: string): StartStep {
  const others = Object.entries(container.rec.Endpoints ?? {})
    .filter(([name]) => name !== first);
  const onUserNetwork = [first, ...others.map(([n]) => n)]
    .some((n) => n && n !== DEFAULT_NETWORK);
  const cfg = containers.opts.net;
  return {
    name: 'endpoints',
    attach(c) {
      for (const [network, endpoint] of others) {
        const r = reserve(cfg, network, c.id, hostnameOf(container), [],
          endpoint.IPAMConfig?.IPv4Address || undefined);
        attachEndpoint(cfg, r, c.pid, freeIfname(c.pid));
      }
      if (onUserNetwork) containers.opts.dns?.listen(c.id, c.pid);
      for (const { network } of leasesOf(cfg, c.id)) {
        networkEvent(containers, 'connect', network, c.id);
      }
    },
    release(c) {
      containers.opts.dns?.close(c.id);
      // Before chapter 05's release (steps undo in reverse): the leases
      // say which networks it is still on.
      for (const { network } of leasesOf(cfg, c.id)) {
        try {
          networkEvent(containers, 'disconnect', network, c.id);
        } catch { /* the network went meanwhile */ }
      }
    },
  };
}
// #endregion

/**
 * --add-host's "name:ip" (or "name=ip") as [name, ip] pairs for
 * /etc/hosts; "host-gateway" is the host's address on the default
 * bridge, as dockerd's --host-gateway-ip defaults to.
 */
export function extraHosts(list: string[], gateway: string)
  : [string, string][] {
  return list.map((entry) => {
    const at = /=/.test(entry) ? entry.indexOf('=') : entry.indexOf(':');
    const name = entry.slice(0, at);
    const ip = entry.slice(at + 1).replace(/^\[(.*)\]$/, '$1');
    if (at < 1 || !name || !(ip === 'host-gateway' || isIP(ip))) {
      throw new BadRequest(`invalid extra host: ${entry}: invalid IP ` +
        `address "${ip}"`);
    }
    return [name, ip === 'host-gateway' ? gateway : ip];
  });
}

/**
 * --link NAME[:ALIAS], docker's old way to find a container on the
 * default bridge: a line in /etc/hosts, "IP ALIAS ID NAME", written
 * once at the start (a restarted target's new address is not seen).
 * On a user network a link is a name for the embedded DNS (dns.ts).
 */
export function linkHosts(containers: Containers, links: string[],
  first?: string): [string, string][] {
  if (first !== DEFAULT_NETWORK) return [];
  return links.map((link) => {
    const { target: name, alias } = parseLink(link);
    const target = containers.get(name);
    const ip = target.isRunning ? findLease(containers.opts.net, target.id,
      DEFAULT_NETWORK)?.lease.ip : undefined;
    if (!ip) {
      throw new Conflict(`Cannot link to a non running container: ` +
        `/${target.name} AS /${alias}`);
    }
    const names = [...new Set([alias, target.id.slice(0, 12),
      target.name])];
    return [names.join(' '), ip];
  });
}

/** "web:db", "/web:/me/db" or "web" (its own alias). */
export function parseLink(link: string): { target: string; alias: string } {
  const [target, alias = target] = link.split(':');
  const last = (s: string) => s.replace(/^.*\//, '');
  return { target: target.replace(/^\//, ''), alias: last(alias) };
}

/** The gateway of the default bridge: the host, seen from containers. */
export function hostGateway(cfg: NetConfig): string {
  return intToIp(parseSubnet(cfg.defaultSubnet).base + 1);
}

function isIP(ip: string): boolean {
  return net.isIP(ip) !== 0;
}
