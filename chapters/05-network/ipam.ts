// Address allocation (IPAM): a container's lease on its network, an
// address of the subnet and its host ports, taken in one locked step
// before it starts and given back when it is gone.
import { createHash } from 'node:crypto';
import {
  broadcast, contains, intToIp, ipToInt, parseSubnet,
} from './cidr.ts';
import { chainsOf, type Chains } from './firewall.ts';
import { claimPorts } from './host-ports.ts';
import {
  NetworkError, dropEndpoint, loadNetwork, setUpHost, type NetConfig,
} from './networks.ts';
import { checkHostAddresses, type PortMapping } from './ports.ts';
import {
  NetStore, leaseIsLive, processRef, type Lease, type NetworkRecord,
} from './store.ts';

export interface Reservation {
  network: NetworkRecord;
  lease: Lease;
  chains: Chains;
}

// #region reserve
/**
 * Everything a container needs from the host before it starts, in one
 * locked step: the network set up, an address, and its host ports
 * (on addresses the host has, checked against other containers'
 * mappings and the host's sockets).
 * Asking again for the same container returns the same lease.
 */
export function reserve(cfg: NetConfig, name: string, container: string,
  hostname: string, ports: PortMapping[], ip?: string): Reservation {
  checkHostAddresses(ports);
  const store = new NetStore(cfg.stateDir);
  return store.withLock(() => {
    const rec = loadNetwork(store, cfg, name);
    setUpHost(cfg, rec);
    let lease = rec.leases[container];
    if (!lease) {
      const taken = store.list().flatMap((n) => Object.values(n.leases))
        .filter((l) => l.container !== container && leaseIsLive(l))
        .flatMap((l) => l.ports);
      lease = {
        container, hostname,
        ip: ip ? askedAddress(rec, ip) : nextAddress(rec),
        ports: claimPorts(ports, taken), owner: processRef(),
        veth: vethName(cfg, container, name),
      };
      rec.leases[container] = lease;
      if (!ip) rec.last = lease.ip;
      store.write(rec);
    }
    return { network: rec, lease, chains: chainsOf(cfg.chainPrefix) };
  });
}
// #endregion

/**
 * The host end's name: unique per container and network, at most 15
 * bytes (IFNAMSIZ). A container on two networks has two veth pairs.
 */
export function vethName(cfg: NetConfig, container: string,
  network: string): string {
  const h = createHash('sha256')
    .update(`${cfg.chainPrefix}:${container}:${network}`);
  return `${cfg.linkPrefix}${h.digest('hex')}`.slice(0, 15);
}

/**
 * `--ip`: an address the user chose. As docker, only on a network whose
 * subnet the user chose too (an automatic one may change), inside it,
 * and not the gateway's or another container's.
 */
function askedAddress(rec: NetworkRecord, ip: string): string {
  if (!rec.userSubnet) {
    throw new NetworkError('user specified IP address is supported only ' +
      'when connecting to networks with user configured subnets');
  }
  const s = parseSubnet(rec.subnet);
  let n: number;
  try {
    n = ipToInt(ip);
  } catch (err) {
    throw new NetworkError(`invalid IPv4 address: ${ip}`, { cause: err });
  }
  if (!contains(s, n) || n === s.base || n === broadcast(s)) {
    throw new NetworkError('no configured subnet or ip-range contain ' +
      `the IP address ${ip}`);
  }
  const users = Object.values(rec.leases).map((l) => l.ip);
  if (n === ipToInt(rec.gateway) || users.includes(ip)) {
    throw new NetworkError(`Address already in use: ${ip} on network ` +
      `${rec.name}`);
  }
  return ip;
}

// #region next-address
/**
 * The next free host address after the last one handed out, wrapping
 * round: an address just released is reused last, so a late packet for
 * a dead container is unlikely to reach a new one.
 */
function nextAddress(rec: NetworkRecord): string {
  const s = parseSubnet(rec.subnet);
  const first = s.base + 1;
  const count = broadcast(s) - first; // hosts, without the broadcast
  const used = new Set([ipToInt(rec.gateway),
    ...Object.values(rec.leases).map((l) => ipToInt(l.ip))]);
  const last = rec.last ? ipToInt(rec.last) : first - 1;
  for (let i = 1; i <= count; i++) {
    const cand = first + ((last - first + i) % count + count) % count;
    if (!used.has(cand)) return intToIp(cand);
  }
  throw new NetworkError(`network "${rec.name}": no free address in ` +
    `${rec.subnet}`);
}
// #endregion

/** Records the container's init in its lease, once attached. */
export function recordInit(cfg: NetConfig, name: string, container: string,
  pid: number): void {
  const store = new NetStore(cfg.stateDir);
  store.withLock(() => {
    const rec = store.read(name);
    const lease = rec?.leases[container];
    if (!rec || !lease) return;
    lease.init = processRef(pid);
    store.write(rec);
  });
}

/** Gives a container's address and ports back; removes its plumbing. */
export function releaseEndpoint(cfg: NetConfig, name: string,
  container: string): void {
  const store = new NetStore(cfg.stateDir);
  store.withLock(() => {
    const rec = store.read(name);
    const lease = rec?.leases[container];
    dropEndpoint(cfg, lease ?? {
      container, veth: vethName(cfg, container, name),
    } as Lease);
    if (!rec || !lease) return;
    delete rec.leases[container];
    store.write(rec);
  });
}

/** Every lease a container holds (one per network it is on). */
export function leasesOf(cfg: NetConfig, container: string):
  { network: string; lease: Lease }[] {
  const store = new NetStore(cfg.stateDir);
  return store.list().filter((rec) => rec.leases[container])
    .map((rec) => ({ network: rec.name, lease: rec.leases[container] }));
}

/** The lease a container holds on a network, or on its first one. */
export function findLease(cfg: NetConfig, container: string,
  network?: string): { network: string; lease: Lease } | undefined {
  return leasesOf(cfg, container)
    .find((l) => network === undefined || l.network === network);
}
