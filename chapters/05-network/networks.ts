// Networks: the default "bridge" network and user-made ones, each a
// bridge on the host with its own subnet and NAT, and where their state
// lives. `docker network create|ls|inspect|rm` map onto the functions
// here; addresses and host ports are handed out in ipam.ts.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { broadcast, formatSubnet, intToIp, ipToInt, parseSubnet, contains,
  overlaps } from './cidr.ts';
import { deleteBridge, ensureBridge, overlappingRoute } from './bridge.ts';
import { deleteLink, iptablesSnapshot } from './exec.ts';
import {
  chainsOf, deleteNetworkRules, deletePortRules, ensureBaseChains,
  ensureNetworkRules, forgetUdpFlows,
} from './firewall.ts';
import type { PublishedPort } from './ports.ts';
import {
  NetStore, leaseIsLive, type Lease, type NetworkRecord,
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
  id: string; ip: string; hostname: string; ports: PublishedPort[];
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
  labels?: Record<string, string>;
  /** The subnet was asked for: containers may name their address. */
  userSubnet?: boolean;
  containers: ContainerEndpoint[];
}

function info(rec: NetworkRecord): NetworkInfo {
  return {
    name: rec.name, id: rec.id, driver: 'bridge', bridge: rec.bridge,
    subnet: rec.subnet, gateway: rec.gateway, created: rec.created,
    labels: rec.labels ?? {}, userSubnet: !!rec.userSubnet,
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
  /** Free-form metadata (`--label k=v`), as docker keeps it. */
  labels?: Record<string, string>;
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
    created: new Date().toISOString(), labels: opts.labels ?? {},
    userSubnet: opts.subnet !== undefined, leases: {},
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
export function loadNetwork(store: NetStore, cfg: NetConfig,
  name: string): NetworkRecord {
  const rec = store.read(name);
  if (rec) return rec;
  if (name !== DEFAULT_NETWORK) {
    throw new NetworkError(`network ${name} not found`);
  }
  const id = createHash('sha256').update(cfg.defaultBridge).digest('hex');
  const def = newRecord(store, cfg, name, id, cfg.defaultBridge,
    { subnet: cfg.defaultSubnet });
  def.userSubnet = false; // docker: no --ip on the default network
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
export function setUpHost(cfg: NetConfig, rec: NetworkRecord): void {
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

/** Forgets what setUpHost saw: the next start checks the host again. */
export function forgetSetUp(): void {
  setUp.clear();
}

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

/** Undoes one container's plumbing on the host (not its lease). */
export function dropEndpoint(cfg: NetConfig, l: Lease): void {
  deleteLink(l.veth);
  // A lease without ports never had rules (not even an iptables-save).
  if (l.ports?.length !== 0) {
    deletePortRules(chainsOf(cfg.chainPrefix), l.container);
  }
  forgetUdpFlows(l.ports ?? []);
}
