// Port mappings: `-p [hostIP:][hostPort:]containerPort[/tcp|udp|sctp]`,
// as `docker run -p` takes them, in and out of the Engine API's
// PortBindings and ExposedPorts, and what a network mode does to them.
// The one parser of -p: the CLI, the engine and this chapter use it.
import { networkInterfaces } from 'node:os';
import { ipToInt } from './cidr.ts';

/** What Docker publishes; iptables matches all three (-p, -m). */
export type Protocol = 'tcp' | 'udp' | 'sctp';
const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];

/** Ports `start` to `end`, both included; one port has start = end. */
export interface PortRange { start: number; end: number }

/** One `-p` value: what the user asked for, before any port is picked. */
export interface PortMapping {
  /** "" for every address of the host (Docker's 0.0.0.0). */
  hostIP: string;
  /**
   * Absent: any free port (`-p 80`). As long as the container range:
   * port for port. Longer, for one container port: any free one in it.
   */
  hostPort?: PortRange;
  containerPort: PortRange;
  protocol: Protocol;
}

/** One host port forwarded to one container port: what a lease holds. */
export interface PublishedPort {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

/** Bad input, exit code 125 as docker's. */
function invalid(value: string, why: string): Error {
  return Object.assign(new Error(`invalid publish "${value}": ${why}`),
    { exitCode: 125 });
}

// #region parse-publish
/**
 * Parses one `-p` value. Forms: "80", "8080:80", "127.0.0.1:8080:80",
 * "127.0.0.1::80" or "127.0.0.1:0:80" (any host port), "53:53/udp",
 * ranges "8000-8001:80-81" and "8000-8009:80" (one free port of ten).
 */
export function parsePublish(value: string): PortMapping {
  const [ports, proto = 'tcp', ...extra] = value.split('/');
  if (extra.length || !PROTOCOLS.includes(proto)) {
    throw invalid(value, 'protocol must be tcp, udp or sctp');
  }
  const parts = ports.split(':');
  if (parts.length > 3) throw invalid(value, 'too many colons');
  const containerPort = portRange(value, parts.pop()!);
  const host = parts.pop() ?? '';
  // Host port 0 is any free one, as docker's port allocator takes it
  // (compose writes "127.0.0.1:0:8080" for that).
  const hostPort = host === '' || host === '0' ? undefined
    : portRange(value, host);
  const hostIP = hostAddress(value, parts.pop() ?? '');
  const span = (r: PortRange) => r.end - r.start;
  if (hostPort && span(containerPort) > 0 &&
    span(hostPort) !== span(containerPort)) {
    throw invalid(value, 'host and container port ranges differ in length');
  }
  return { hostIP, hostPort, containerPort,
    protocol: proto as Protocol };
}
// #endregion

/** "80" or "8000-8009", within 1-65535. */
function portRange(value: string, text: string): PortRange {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const start = Number(m?.[1]);
  const end = m?.[2] === undefined ? start : Number(m[2]);
  if (!m || start < 1 || end > 65535 || end < start) {
    throw invalid(value, `bad port "${text}"`);
  }
  return { start, end };
}

/** An IPv4 address of the host, "" for all of them (0.0.0.0 too). */
function hostAddress(value: string, ip: string): string {
  if (ip === '' || ip === '0.0.0.0') return '';
  try {
    ipToInt(ip);
  } catch {
    throw invalid(value, `bad host IP "${ip}"`);
  }
  return ip;
}

function rangeText(r: PortRange): string {
  return r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`;
}

/** One entry of the Engine API's HostConfig.PortBindings. */
export interface ApiPortBinding { HostIp: string; HostPort: string }

/**
 * The Engine API's shapes, as the docker CLI sends them: one key per
 * container port ("80/tcp"), each with its host bindings; a host range
 * for one container port stays a range ("8000-8009").
 */
export function toEngineApi(mappings: PortMapping[]): {
  ExposedPorts: Record<string, object>;
  PortBindings: Record<string, ApiPortBinding[]>;
} {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, ApiPortBinding[]> = {};
  for (const m of mappings) {
    const { start, end } = m.containerPort;
    for (let port = start; port <= end; port++) {
      const key = `${port}/${m.protocol}`;
      const host = !m.hostPort ? ''
        : start === end ? rangeText(m.hostPort)
          : `${m.hostPort.start + port - start}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: m.hostIP, HostPort: host });
    }
  }
  return { ExposedPorts: exposed, PortBindings: bindings };
}

/**
 * HostConfig.PortBindings back into mappings, checked as `-p` is: the
 * engine gets them from any API client, not only from our CLI.
 */
export function fromPortBindings(
  bindings: Record<string, Partial<ApiPortBinding>[] | null> | undefined,
): PortMapping[] {
  return Object.entries(bindings ?? {}).flatMap(([key, binds]) =>
    (binds ?? []).map((b) => {
      const ip = b.HostIp ?? '';
      const host = `${ip.includes(':') ? `[${ip}]` : ip}:${b.HostPort ?? ''}`;
      return parsePublish(`${host}:${key}`);
    }));
}

// #region publish-all (unused)
/**
 * `docker run -P`: every exposed port (--expose, the image's EXPOSE)
 * that no -p binds is published on a free host port of every address.
 */
export function publishAll(
  bindings: Record<string, ApiPortBinding[] | null> | undefined,
  exposed: string[],
): Record<string, ApiPortBinding[]> {
  const out: Record<string, ApiPortBinding[]> = {};
  for (const [key, binds] of Object.entries(bindings ?? {})) {
    if (binds) out[key] = binds;
  }
  for (const port of exposed) {
    const key = port.includes('/') ? port : `${port}/tcp`;
    if (!out[key]?.length) out[key] = [{ HostIp: '', HostPort: '' }];
  }
  return out;
}
// #endregion

// #region publish-mode
/**
 * A published port is forwarded into the container's own network
 * namespace. With `--network host` the container's ports are the
 * host's already, and with `none` nothing outside can reach them:
 * Docker drops the mappings with a warning. With `container:<name>`
 * they would be the other container's, which publishes its own:
 * Docker refuses. Returns the mappings that stay and the warning.
 */
export function publishMode(network: string, ports: PortMapping[]):
  { ports: PortMapping[]; warning?: string } {
  if (ports.length === 0) return { ports };
  if (network.startsWith('container:')) {
    throw Object.assign(new Error('conflicting options: port publishing ' +
      'and the container type network mode'), { exitCode: 125 });
  }
  if (network === 'host' || network === 'none') {
    return { ports: [], warning: 'Published ports are discarded when ' +
      `using ${network} network mode` };
  }
  return { ports };
}
// #endregion

// #region host-address
/**
 * `-p 10.1.2.3:8080:80` publishes on one address of the host, which
 * it must have: our DNAT chain sees only packets for local addresses
 * (addrtype LOCAL), so the rule would never match, and Docker's proxy
 * fails to bind(2) such an address (EADDRNOTAVAIL). Loopback owns all
 * of 127.0.0.0/8, not only the 127.0.0.1 it lists. Throws, before
 * anything is set up, naming the first address the host lacks.
 */
export function checkHostAddresses(ports: PortMapping[]): void {
  const wanted = ports.filter((p) => p.hostIP && !/^127\./.test(p.hostIP));
  if (wanted.length === 0) return; // no getifaddrs(3) for most runs
  const own = new Set(Object.values(networkInterfaces()).flat()
    .map((a) => a?.address));
  for (const p of wanted) {
    if (own.has(p.hostIP)) continue;
    throw Object.assign(new Error(`cannot publish ${p.hostIP}` +
      `${p.hostPort ? `:${rangeText(p.hostPort)}` : ''}: address not ` +
      'assigned to this host'), { exitCode: 125 });
  }
}
// #endregion

/** "0.0.0.0:8080->80/tcp": the Docker-style text of a published port. */
export function formatPublished(p: PublishedPort): string {
  return `${p.hostIP || '0.0.0.0'}:${p.hostPort}->` +
    `${p.containerPort}/${p.protocol}`;
}
