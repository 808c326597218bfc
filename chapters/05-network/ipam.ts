// Address allocation (IPAM): a container's lease on its network, an
// address of the subnet and its host ports, taken in one locked step
// before it starts and given back when it is gone.
import { createHash } from 'node:crypto';
import { broadcast, intToIp, ipToInt, parseSubnet } from './cidr.ts';
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
  hostname: string, ports: PortMapping[]): Reservation {
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
        container, hostname, ip: nextAddress(rec),
        ports: claimPorts(ports, taken), owner: processRef(),
        veth: vethName(cfg, container),
      };
      rec.leases[container] = lease;
      rec.last = lease.ip;
      store.write(rec);
    }
    return { network: rec, lease, chains: chainsOf(cfg.chainPrefix) };
  });
}
// #endregion

/** The host end's name: unique per container and at most 15 bytes. */
export function vethName(cfg: NetConfig, container: string): string {
  const h = createHash('sha256').update(`${cfg.chainPrefix}:${container}`);
  return `${cfg.linkPrefix}${h.digest('hex')}`.slice(0, 15);
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
      container, veth: vethName(cfg, container),
    } as Lease);
    if (!rec || !lease) return;
    delete rec.leases[container];
    store.write(rec);
  });
}

/** The lease a container holds on any network, if any. */
export function findLease(cfg: NetConfig, container: string):
  { network: string; lease: Lease } | undefined {
  const store = new NetStore(cfg.stateDir);
  for (const rec of store.list()) {
    const lease = rec.leases[container];
    if (lease) return { network: rec.name, lease };
  }
  return undefined;
}
