// Networks: the default "bridge" network and user-made ones, each a
// bridge on the host with its own subnet, an address pool, and NAT.
// `docker network create|ls|inspect|rm` map onto the functions here.
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { broadcast, formatSubnet, intToIp, ipToInt, parseSubnet, contains,
  overlaps } from './cidr.ts';
import { deleteBridge, ensureBridge, overlappingRoute } from './bridge.ts';
import { deleteLink, iptablesSnapshot, linkExists } from './exec.ts';
import {
  chainsOf, deleteBaseChains, deleteNetworkRules, deletePortRules,
  ensureBaseChains, ensureNetworkRules, forgetUdpFlows, ruleOwners,
  type Chains,
} from './firewall.ts';
import {
  checkHostAddresses, clash, ephemeralRange, hostSockets, type PortMapping,
} from './ports.ts';
import {
  NetStore, isAlive, processRef, type Lease, type NetworkRecord,
} from './store.ts';

// #region config
/** Where the host's network state lives and what its parts are named. */
export interface NetConfig {
  /** Leases and network files (default /var/lib/skiff/network). */
  stateDir: string;
  /** Prefix of skiff's iptables chains and rule comments. */
  chainPrefix: string;
  /** Prefix of the host's veth ends and user networks' bridges. */
  linkPrefix: string;
  /** The default network "bridge": its Linux bridge and subnet. */
  defaultBridge: string;
  defaultSubnet: string;
}

export const DEFAULT_NET_CONFIG: NetConfig = {
  stateDir: '/var/lib/skiff/network',
  chainPrefix: 'SKIFF',
  linkPrefix: 'sk',
  defaultBridge: 'skiff0',
  defaultSubnet: '172.28.0.0/16',
};
// #endregion

export function netConfig(over: Partial<NetConfig> = {}): NetConfig {
  return { ...DEFAULT_NET_CONFIG, ...over };
}

/** The environment variable that overrides each field. */
export const NET_ENV: Record<keyof NetConfig, string> = {
  stateDir: 'SKIFF_NET_DIR', chainPrefix: 'SKIFF_NET_PREFIX',
  linkPrefix: 'SKIFF_NET_LINK_PREFIX', defaultBridge: 'SKIFF_NET_BRIDGE',
  defaultSubnet: 'SKIFF_NET_SUBNET',
};

/**
 * The configuration, with overrides from the environment (NET_ENV): the
 * tests give the demos a state dir, chains, links and a subnet of their
 * own this way.
 */
export function netConfigFromEnv(env = process.env): NetConfig {
  const cfg = netConfig();
  for (const [key, name] of Object.entries(NET_ENV)) {
    const value = env[name];
    if (value) cfg[key as keyof NetConfig] = value;
  }
  return cfg;
}

/** The name of the default network, as in Docker. */
export const DEFAULT_NETWORK = 'bridge';
/** Names `--network` takes that are modes, not networks. */
const RESERVED = new Set(['bridge', 'host', 'none', 'default']);

export class NetworkError extends Error {
  readonly exitCode = 125;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

export interface ContainerEndpoint {
  id: string; ip: string; hostname: string; ports: PortMapping[];
  veth: string;
}

export interface NetworkInfo {
  name: string;
  id: string;
  driver: 'bridge' | 'host' | 'null';
  bridge?: string;
  subnet?: string;
  gateway?: string;
  created?: string;
  containers: ContainerEndpoint[];
}

function info(rec: NetworkRecord): NetworkInfo {
  return {
    name: rec.name, id: rec.id, driver: 'bridge', bridge: rec.bridge,
    subnet: rec.subnet, gateway: rec.gateway, created: rec.created,
    containers: Object.values(rec.leases).map((l) => ({
      id: l.container, ip: l.ip, hostname: l.hostname, ports: l.ports,
      veth: l.veth,
    })),
  };
}

export interface CreateOptions {
  /** "10.5.0.0/24"; picked from 172.18-31.0.0/16 when absent. */
  subnet?: string;
  /** Defaults to the subnet's first address. */
  gateway?: string;
}

// #region create-network
/**
 * Creates a user network: a record on disk, then its bridge and its
 * iptables rules on the host. The subnet must not overlap another
 * network's or a host route's (the host would lose that network).
 */
export function createNetwork(name: string, opts: CreateOptions = {},
  cfg = netConfig()): NetworkInfo {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(name)) {
    throw new NetworkError(`network "${name}": invalid name`);
  }
  if (RESERVED.has(name)) {
    throw new NetworkError(`network "${name}": name is reserved`);
  }
  const store = new NetStore(cfg.stateDir);
  return store.withLock(() => {
    if (store.read(name)) {
      throw new NetworkError(`network with name ${name} already exists`);
    }
    const id = randomBytes(32).toString('hex');
    const bridge = `${cfg.linkPrefix}-${id}`.slice(0, 15);
    const rec = newRecord(store, cfg, name, id, bridge, opts);
    store.write(rec);
    try {
      setUpHost(cfg, rec);
    } catch (err) {
      tearDownHost(cfg, rec);
      store.remove(name);
      throw new NetworkError(`network "${name}": set up bridge ` +
        `${rec.bridge}: ${(err as Error).message}`, { cause: err });
    }
    return info(rec);
  });
}
// #endregion

function newRecord(store: NetStore, cfg: NetConfig, name: string, id: string,
  bridge: string, opts: CreateOptions): NetworkRecord {
  const others = store.list();
  const subnet = opts.subnet ?? pickSubnet(cfg, others);
  const s = parseSubnet(subnet);
  const gateway = opts.gateway ?? intToIp(s.base + 1);
  const g = ipToInt(gateway);
  if (!contains(s, g) || g === s.base || g === broadcast(s)) {
    throw new NetworkError(`network "${name}": gateway ${gateway} is not ` +
      `a host address of ${subnet}`);
  }
  for (const o of others) {
    if (overlaps(s, parseSubnet(o.subnet))) {
      throw new NetworkError(`network "${name}": subnet ${subnet} ` +
        `overlaps network "${o.name}" (${o.subnet})`);
    }
  }
  const route = overlappingRoute(subnet, others.map((o) => o.bridge));
  if (route) {
    throw new NetworkError(`network "${name}": subnet ${subnet} ` +
      `overlaps the host route ${route}`);
  }
  return {
    name, id, driver: 'bridge', bridge, subnet: formatSubnet(s), gateway,
    created: new Date().toISOString(), leases: {},
  };
}

/** Docker's choice for user networks: the first free 172.x.0.0/16. */
function pickSubnet(cfg: NetConfig, others: NetworkRecord[]): string {
  const taken = [cfg.defaultSubnet, ...others.map((o) => o.subnet)]
    .map(parseSubnet);
  for (let b = 18; b <= 31; b++) {
    const cand = `172.${b}.0.0/16`;
    const s = parseSubnet(cand);
    if (taken.some((t) => overlaps(s, t))) continue;
    if (overlappingRoute(cand, others.map((o) => o.bridge))) continue;
    return cand;
  }
  throw new NetworkError('no free subnet in 172.18-31.0.0/16: use --subnet');
}

/** The network's record, creating the default one on first use. */
function loadNetwork(store: NetStore, cfg: NetConfig,
  name: string): NetworkRecord {
  const rec = store.read(name);
  if (rec) return rec;
  if (name !== DEFAULT_NETWORK) {
    throw new NetworkError(`network ${name} not found`);
  }
  const id = createHash('sha256').update(cfg.defaultBridge).digest('hex');
  const def = newRecord(store, cfg, name, id, cfg.defaultBridge,
    { subnet: cfg.defaultSubnet });
  store.write(def);
  return def;
}

/** Networks this process has set up (or found complete). */
const setUp = new Set<string>();

// #region set-up-host
/**
 * Bridge, chains and NAT rules of a network. Checked in full once per
 * process (an `ip` and an `iptables-save`); after that, a start only
 * looks for the bridge in sysfs.
 */
function setUpHost(cfg: NetConfig, rec: NetworkRecord): void {
  const key = `${cfg.chainPrefix} ${rec.bridge} ${rec.gateway} ${rec.subnet}`;
  if (setUp.has(key) && existsSync(`/sys/class/net/${rec.bridge}`)) return;
  ensureBridge(rec.bridge, rec.gateway, rec.subnet);
  const chains = chainsOf(cfg.chainPrefix);
  const snap = iptablesSnapshot();
  ensureBaseChains(chains, snap);
  ensureNetworkRules(chains, rec.bridge, rec.subnet, snap);
  setUp.add(key);
}
// #endregion

function tearDownHost(cfg: NetConfig, rec: NetworkRecord): void {
  setUp.clear();
  deleteNetworkRules(chainsOf(cfg.chainPrefix), rec.bridge);
  deleteBridge(rec.bridge);
}

export function listNetworks(cfg = netConfig()): NetworkInfo[] {
  const store = new NetStore(cfg.stateDir);
  const recs = store.withLock(() => {
    loadNetwork(store, cfg, DEFAULT_NETWORK);
    return store.list();
  });
  return [
    ...recs.map(info),
    { name: 'host', id: pseudoId('host'), driver: 'host', containers: [] },
    { name: 'none', id: pseudoId('none'), driver: 'null', containers: [] },
  ];
}

function pseudoId(name: string): string {
  return createHash('sha256').update(`skiff:${name}`).digest('hex');
}

export function inspectNetwork(name: string,
  cfg = netConfig()): NetworkInfo {
  const found = listNetworks(cfg).find((n) => n.name === name ||
    (name.length >= 3 && n.id.startsWith(name)));
  if (!found) throw new NetworkError(`network ${name} not found`);
  return found;
}

/** Removes a user network; it must have no containers left. */
export function removeNetwork(name: string, cfg = netConfig()): void {
  if (name === DEFAULT_NETWORK || name === 'host' || name === 'none') {
    throw new NetworkError(`${name} is a pre-defined network and ` +
      'cannot be removed');
  }
  const store = new NetStore(cfg.stateDir);
  store.withLock(() => {
    const rec = store.read(name);
    if (!rec) throw new NetworkError(`network ${name} not found`);
    const live = Object.values(rec.leases).filter(leaseIsLive);
    if (live.length) {
      throw new NetworkError(`error while removing network: network ` +
        `${name} has active endpoints (${live.map((l) => l.container
          .slice(0, 12)).join(', ')})`);
    }
    for (const l of Object.values(rec.leases)) dropEndpoint(cfg, l);
    tearDownHost(cfg, rec);
    store.remove(name);
  });
}

function leaseIsLive(l: Lease): boolean {
  return l.init ? isAlive(l.init) : isAlive(l.owner);
}

/** Undoes one container's plumbing on the host (not its lease). */
function dropEndpoint(cfg: NetConfig, l: Lease): void {
  deleteLink(l.veth);
  // A lease without ports never had rules (not even an iptables-save).
  if (l.ports?.length !== 0) {
    deletePortRules(chainsOf(cfg.chainPrefix), l.container);
  }
  forgetUdpFlows(l.ports ?? []);
}

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

/** Checks the wanted host ports and picks free ones for "-p 80". */
function claimPorts(want: PortMapping[], taken: PortMapping[]):
  PortMapping[] {
  const sockets = hostSockets();
  const out: PortMapping[] = [];
  for (const p of want) {
    const claimed = [...taken, ...out];
    if (p.hostPort === 0) {
      out.push(freePort(p, claimed, sockets));
      continue;
    }
    const hit = claimed.find((t) => clash(p, t));
    const sock = sockets.find((t) => clash(p, t));
    if (hit || sock) {
      throw new NetworkError(`port ${p.hostIP || '0.0.0.0'}:${p.hostPort}/` +
        `${p.protocol}: address already in use (by ` +
        `${hit ? 'another container' : 'a host process'})`);
    }
    out.push(p);
  }
  return out;
}

function freePort(p: PortMapping, claimed: PortMapping[],
  sockets: PortMapping[]): PortMapping {
  const [lo, hi] = ephemeralRange();
  const start = lo + Math.floor(Math.random() * (hi - lo + 1));
  for (let i = 0; i <= hi - lo; i++) {
    const cand = { ...p, hostPort: lo + ((start - lo + i) % (hi - lo + 1)) };
    if (![...claimed, ...sockets].some((t) => clash(cand, t))) return cand;
  }
  throw new NetworkError(`no free host port for ${p.containerPort}`);
}

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

// #region sweep
/**
 * Cleans up after crashed engines: leases whose container and engine
 * are both gone, rules whose owner has no lease, veths left on skiff's
 * bridges. Returns what it removed. With `all`, removes everything
 * skiff made on the host: every network, chain and lease.
 */
export function sweep(cfg = netConfig(), all = false): string[] {
  const store = new NetStore(cfg.stateDir);
  const chains = chainsOf(cfg.chainPrefix);
  const removed: string[] = [];
  store.withLock(() => {
    const recs = store.list();
    for (const rec of recs) {
      for (const l of Object.values(rec.leases)) {
        if (!all && leaseIsLive(l)) continue;
        dropEndpoint(cfg, l);
        delete rec.leases[l.container];
        removed.push(`lease ${l.ip} of ${l.container}`);
      }
      store.write(rec);
    }
    // #endregion
    // #region sweep-rules
    const leased = new Set(recs.flatMap((r) => Object.keys(r.leases)));
    const bridges = new Set(recs.map((r) => r.bridge));
    for (const owner of ruleOwners(chains)) {
      const [kind, name] = [owner.slice(0, 4), owner.slice(4)];
      if (kind === 'ctr:' && !leased.has(name)) {
        deletePortRules(chains, name);
        removed.push(`rules of container ${name}`);
      } else if (kind === 'net:' && (all || !bridges.has(name))) {
        deleteNetworkRules(chains, name);
        removed.push(`rules of bridge ${name}`);
      }
    }
    removed.push(...sweepVeths(recs, all));
    if (all) {
      for (const rec of recs) {
        deleteBridge(rec.bridge);
        store.remove(rec.name);
        removed.push(`network ${rec.name} (${rec.bridge})`);
      }
      deleteBaseChains(chains);
      setUp.clear();
    }
  });
  return removed;
}
// #endregion

/** Veths plugged into skiff's bridges that no lease names. */
function sweepVeths(recs: NetworkRecord[], all: boolean): string[] {
  const leased = new Set(recs.flatMap((r) => Object.values(r.leases)
    .map((l) => l.veth)));
  const removed: string[] = [];
  for (const rec of recs) {
    if (!linkExists(rec.bridge)) continue;
    const r = spawnSync('ip', ['-j', 'link', 'show', 'master', rec.bridge],
      { encoding: 'utf8' });
    const links = JSON.parse(r.stdout || '[]') as { ifname: string }[];
    for (const { ifname } of links) {
      if (!all && leased.has(ifname)) continue;
      deleteLink(ifname);
      removed.push(`veth ${ifname}`);
    }
  }
  return removed;
}
