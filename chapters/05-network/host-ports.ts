// Host ports: which are taken (by other containers, by the host's own
// sockets) and the choice of free ones, for the mappings of one
// container. Called by the reservation (ipam.ts) under the store's lock.
import { readFileSync } from 'node:fs';
import { NetworkError } from './networks.ts';
import type { PortMapping, PortRange, PublishedPort } from './ports.ts';

/** Do two published ports claim the same host port? */
export function clash(a: PublishedPort, b: PublishedPort): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort &&
    (!a.hostIP || !b.hostIP || a.hostIP === b.hostIP);
}

/**
 * Host ports for each container port of `want`: the one asked for,
 * which must be free, or the first free one of a host range, or a
 * random free one of the kernel's ephemeral range for `-p 80`.
 */
export function claimPorts(want: PortMapping[], taken: PublishedPort[]):
  PublishedPort[] {
  const sockets = hostSockets();
  const out: PublishedPort[] = [];
  for (const m of want) {
    const { start, end } = m.containerPort;
    for (let port = start; port <= end; port++) {
      const fixed = m.hostPort && end > start;
      const range: PortRange = fixed
        ? { start: m.hostPort!.start + port - start,
          end: m.hostPort!.start + port - start }
        : m.hostPort ?? ephemeralRange();
      const p = { hostIP: m.hostIP, hostPort: 0, containerPort: port,
        protocol: m.protocol };
      out.push(freeIn(p, range, [...taken, ...out], sockets, !m.hostPort));
    }
  }
  return out;
}
// #endregion

/** The first port of `r` nobody has (from a random start if `spread`). */
function freeIn(p: PublishedPort, r: PortRange, taken: PublishedPort[],
  sockets: PublishedPort[], spread: boolean): PublishedPort {
  const n = r.end - r.start + 1;
  const first = spread ? Math.floor(Math.random() * n) : 0;
  const busy = [...taken, ...sockets];
  for (let i = 0; i < n; i++) {
    const cand = { ...p, hostPort: r.start + (first + i) % n };
    if (!busy.some((t) => clash(cand, t))) return cand;
  }
  if (n > 1) {
    throw new NetworkError(`no free host port in ${r.start}-${r.end} ` +
      `for ${p.containerPort}/${p.protocol}`);
  }
  const cand = { ...p, hostPort: r.start };
  const byHost = !taken.some((t) => clash(cand, t));
  throw new NetworkError(`port ${p.hostIP || '0.0.0.0'}:${r.start}/` +
    `${p.protocol}: address already in use (by ` +
    `${byHost ? 'a host process' : 'another container'})`);
}

// #region host-sockets
/**
 * The host's bound sockets as published ports, read from
 * /proc/net/{tcp,udp} and their IPv6 twins: a TCP socket counts when
 * it listens (state 0A), a UDP socket whenever it is bound. Sockets
 * on "::" take every IPv4 address too, unless they are IPv6-only; we
 * assume they are not.
 */
export function hostSockets(): PublishedPort[] {
  const out: PublishedPort[] = sctpSockets();
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

/**
 * SCTP endpoints, from /proc/net/sctp/eps (there only once the sctp
 * module is loaded): LPORT is the 6th field, the addresses follow UID
 * and INODE, in text.
 */
function sctpSockets(): PublishedPort[] {
  return readProcNet('sctp/eps').flatMap((line) => {
    const f = line.trim().split(/\s+/);
    return f.slice(8).filter((a) => !a.includes(':') || a === '::')
      .map((a) => ({ hostIP: a === '0.0.0.0' || a === '::' ? '' : a,
        hostPort: Number(f[5]), containerPort: 0, protocol: 'sctp' }));
  });
}

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

/** The kernel's range for ephemeral ports, e.g. 32768-60999. */
export function ephemeralRange(): PortRange {
  try {
    const [start, end] = readFileSync(
      '/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)
      .map(Number);
    return { start, end };
  } catch {
    return { start: 32768, end: 60999 };
  }
}
