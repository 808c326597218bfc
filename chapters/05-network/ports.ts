// Port mappings: `-p [hostIP:][hostPort:]containerPort[/tcp|/udp]`, as
// `docker run -p` takes them, and the check that a host port is free.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { ipToInt } from './cidr.ts';

export type Protocol = 'tcp' | 'udp';

export interface PortMapping {
  /** "" for every address of the host (Docker's 0.0.0.0). */
  hostIP: string;
  /** 0 until a free port is picked for `-p 80`. */
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

// #region parse-publish
/**
 * Parses one `-p` value. Forms: "80", "8080:80", "127.0.0.1:8080:80",
 * "127.0.0.1::80" (any host port), "53:53/udp", ranges "8000-8001:80-81".
 */
export function parsePublish(value: string): PortMapping[] {
  const bad = (why: string) =>
    new Error(`invalid publish "${value}": ${why}`);
  const [ports, proto = 'tcp', ...extra] = value.split('/');
  if (extra.length || (proto !== 'tcp' && proto !== 'udp')) {
    throw bad('protocol must be tcp or udp');
  }
  const parts = ports.split(':');
  if (parts.length > 3) throw bad('too many colons');
  const container = parts.pop()!;
  const host = parts.pop() ?? '';
  const hostIP = parts.pop() ?? '';
  if (hostIP && hostIP !== '0.0.0.0') {
    try { ipToInt(hostIP); } catch { throw bad(`bad host IP "${hostIP}"`); }
  }
  const cRange = portRange(container, bad);
  const hRange = host === '' ? undefined : portRange(host, bad);
  if (hRange && hRange[1] - hRange[0] !== cRange[1] - cRange[0]) {
    throw bad('host and container port ranges differ in length');
  }
  const out: PortMapping[] = [];
  for (let i = 0; i <= cRange[1] - cRange[0]; i++) {
    out.push({
      hostIP: hostIP === '0.0.0.0' ? '' : hostIP,
      hostPort: hRange ? hRange[0] + i : 0,
      containerPort: cRange[0] + i,
      protocol: proto,
    });
  }
  return out;
}
// #endregion

function portRange(s: string, bad: (why: string) => Error): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  const lo = Number(m?.[1]);
  const hi = m?.[2] === undefined ? lo : Number(m[2]);
  if (!m || lo < 1 || hi > 65535 || hi < lo) {
    throw bad(`bad port "${s}"`);
  }
  return [lo, hi];
}

// #region publish-mode
/**
 * A published port is forwarded into the container's own network
 * namespace. With `--network host` the container's ports are the
 * host's already, and with `none` nothing outside can reach them:
 * Docker drops the mappings with a warning (for host; we warn for
 * none too). With `container:<name>` they would be the other
 * container's, which publishes its own: Docker refuses. Returns the
 * warning to print; throws for the refusal.
 */
export function checkPublishMode(network: string,
  count: number): string | undefined {
  if (count === 0) return undefined;
  if (network.startsWith('container:')) {
    throw Object.assign(new Error('conflicting options: port publishing ' +
      'and the container type network mode'), { exitCode: 125 });
  }
  if (network === 'host' || network === 'none') {
    return 'WARNING: Published ports are discarded when using ' +
      `${network} network mode`;
  }
  return undefined;
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
  const own = new Set(Object.values(networkInterfaces()).flat()
    .map((a) => a?.address));
  for (const p of ports) {
    const ip = p.hostIP.replace(/^\[(.*)\]$/, '$1');
    if (!ip || ip === '0.0.0.0' || ip === '::' || own.has(ip) ||
      /^127\./.test(ip)) continue;
    throw Object.assign(new Error(`cannot publish ${p.hostIP}` +
      `${p.hostPort ? `:${p.hostPort}` : ''}: address not assigned to ` +
      'this host'), { exitCode: 125 });
  }
}
// #endregion

/** "0.0.0.0:8080:80/tcp": the Docker-style text of a mapping. */
export function formatMapping(m: PortMapping): string {
  return `${m.hostIP || '0.0.0.0'}:${m.hostPort}->` +
    `${m.containerPort}/${m.protocol}`;
}

/** Do two mappings claim the same host port? */
export function clash(a: PortMapping, b: PortMapping): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort &&
    (!a.hostIP || !b.hostIP || a.hostIP === b.hostIP);
}

// #region host-sockets
/**
 * The host's bound sockets as mappings, read from /proc/net/{tcp,udp}
 * and their IPv6 twins: a TCP socket counts when it listens (state 0A),
 * a UDP socket whenever it is bound. Sockets on "::" take every
 * IPv4 address too, unless they are IPv6-only; we assume they are not.
 */
export function hostSockets(): PortMapping[] {
  const out: PortMapping[] = [];
  for (const protocol of ['tcp', 'udp'] as const) {
    for (const file of [protocol, `${protocol}6`]) {
      for (const line of readProcNet(file)) {
        const [, local, , state] = line.trim().split(/\s+/);
        if (protocol === 'tcp' && state !== '0A') continue;
        const [addr, port] = local.split(':');
        const hostIP = decodeAddress(addr);
        if (hostIP === undefined) continue;
        out.push({ hostIP, hostPort: parseInt(port, 16), containerPort: 0,
          protocol });
      }
    }
  }
  return out;
}
// #endregion

function readProcNet(file: string): string[] {
  try {
    return readFileSync(`/proc/net/${file}`, 'utf8').split('\n').slice(1)
      .filter((l) => l.trim());
  } catch {
    return [];
  }
}

/** An IPv4 address ("" = any) from /proc/net hex; undefined for IPv6. */
function decodeAddress(hex: string): string | undefined {
  if (hex.length === 8) return hex === '00000000' ? '' : le32(hex);
  if (/^0{32}$/.test(hex)) return '';
  // ::ffff:a.b.c.d is stored as four 32-bit words; the last is the v4.
  if (hex.slice(0, 24) === '0000000000000000FFFF0000') {
    return le32(hex.slice(24));
  }
  return undefined;
}

/** /proc/net shows each 32-bit word in host order (little-endian). */
function le32(hex: string): string {
  const b = hex.match(/../g)!.map((x) => parseInt(x, 16));
  return b.reverse().join('.');
}

/** The kernel's range for ephemeral ports, e.g. [32768, 60999]. */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range',
      'utf8').trim().split(/\s+/).map(Number);
    return [lo, hi];
  } catch {
    return [32768, 60999];
  }
}
