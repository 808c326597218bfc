// Chapter 05's start step: give the container its network. It runs
// from the host, while the container's init waits at the start barrier:
// `prepare` reserves an address and host ports and adds the /etc files
// to the spec; `attach` plugs a veth pair into the init's network
// namespace; `release` takes it all back.
import {
  existsSync, mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { resolveInRoot } from '../02-namespaces/mounts.ts';
import type { Spec } from '../02-namespaces/spec.ts';
import type { Starting, StartStep } from '../02-namespaces/steps.ts';
import { parseSubnet } from './cidr.ts';
import { deleteLink, ipBatch } from './exec.ts';
import { forgetUdpFlows, setPortRules } from './firewall.ts';
import {
  findLease, leasesOf, recordInit, releaseEndpoint, reserve,
  type Reservation,
} from './ipam.ts';
import {
  DEFAULT_NETWORK, NetworkError, netConfig, type NetConfig,
} from './networks.ts';
import { publishMode, type PortMapping } from './ports.ts';
import { type DnsSettings, writeNameFiles } from './resolv.ts';

export interface NetworkOptions {
  /**
   * "bridge" (the default network), "host", "none", "container:<ref>",
   * or the name of a network made with createNetwork.
   */
  network?: string;
  /**
   * The `-p` mappings (ports.ts parses them). Dropped for host and
   * none, refused for container:<ref> (publishMode); the caller prints
   * publishMode's warning.
   */
  publish?: PortMapping[];
  /** The container's name, an extra name for it in /etc/hosts. */
  name?: string;
  /** --ip: its address on a user network whose subnet was chosen. */
  ip?: string;
  /** --add-host's [name, address] pairs, for /etc/hosts. */
  extraHosts?: [string, string][];
  /** --dns* and whether the engine's DNS server answers (resolv.ts). */
  dns?: DnsSettings;
  /** Default: spec.hostname, else the first 12 characters of the id. */
  hostname?: string;
  /** Host-side configuration (state dir, chain prefix, default net). */
  config?: Partial<NetConfig>;
  /** Where hostname/hosts/resolv.conf go (default <state>/containers). */
  filesDir?: string;
  /**
   * Finds the container named in "container:<ref>": its init's pid and
   * id. Without it, <ref> must be a pid.
   */
  resolveContainer?: (ref: string) => { pid: number; id?: string };
}

export type Mode =
  | { kind: 'bridge'; network: string }
  | { kind: 'host' } | { kind: 'none' }
  | { kind: 'container'; ref: string };

/** Parses `--network`: a mode or a network's name. */
export function parseNetworkMode(value = DEFAULT_NETWORK): Mode {
  if (value === 'host' || value === 'none') return { kind: value };
  if (value === 'default' || value === '') {
    return { kind: 'bridge', network: DEFAULT_NETWORK };
  }
  if (value.startsWith('container:')) {
    const ref = value.slice('container:'.length);
    if (!ref) throw new NetworkError('--network container: needs a name');
    return { kind: 'container', ref };
  }
  return { kind: 'bridge', network: value };
}

/**
 * What the step keeps in `c.data.network`. `mode` and `filesDir` are
 * plain JSON: an engine may save them and, after a restart, call
 * `release` with them alone (the reservation is read back from disk).
 */
export interface NetworkStepData {
  mode: Mode;
  filesDir: string;
  reservation?: Reservation;
}

// #region network-step
export function networkStep(opts: NetworkOptions = {}): StartStep {
  const cfg = netConfig(opts.config);
  const mode = parseNetworkMode(opts.network);
  const { ports } = publishMode(opts.network ?? '', opts.publish ?? []);
  return {
    name: 'network',
    prepare(c) {
      const d: NetworkStepData = {
        mode, filesDir: opts.filesDir ?? join(cfg.stateDir, 'containers',
          c.id),
      };
      c.data.network = d;
      prepareMode(c, d, cfg, opts, ports);
    },
    attach(c) {
      const d = c.data.network as NetworkStepData;
      if (d.mode.kind === 'none') ipBatch(['link set lo up'], c.pid);
      if (d.reservation) attachEndpoint(cfg, d.reservation, c.pid);
    },
    release(c) {
      const d = c.data.network as NetworkStepData | undefined;
      if (!d) return;
      // Every network it joined: its first, and those connected later.
      const on = new Set(leasesOf(cfg, c.id).map((l) => l.network));
      if (d.mode.kind === 'bridge') on.add(d.mode.network);
      for (const net of on) releaseEndpoint(cfg, net, c.id);
      rmSync(d.filesDir, { recursive: true, force: true });
    },
  };
}
// #endregion

/**
 * Plugs a reserved endpoint into a process's namespace: `eth0` with the
 * default route for its first network; a network connected later gets
 * the next free ethN and no route (docker's `network connect`).
 */
export function attachEndpoint(cfg: NetConfig, r: Reservation, pid: number,
  ifname = 'eth0'): void {
  try {
    plugVeth(cfg, r, pid, ifname);
  } catch (err) {
    throw new NetworkError(`connect to network "${r.network.name}": ` +
      (err as Error).message, { cause: err });
  }
}

/** The first ethN a process's network namespace does not have. */
export function freeIfname(pid: number): string {
  let names: string[] = [];
  try { // /proc/PID/net/dev lists the links of PID's namespace
    names = readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n')
      .map((l) => l.split(':')[0].trim());
  } catch { /* gone: the plugging will say so */ }
  for (let i = 0; ; i++) if (!names.includes(`eth${i}`)) return `eth${i}`;
}

function prepareMode(c: Starting, d: NetworkStepData, cfg: NetConfig,
  opts: NetworkOptions, ports: PortMapping[]): void {
  const hostname = opts.hostname ?? c.spec.hostname ?? c.id.slice(0, 12);
  const files = { hostname, aliases: opts.name ? [opts.name] : [],
    extraHosts: opts.extraHosts, dns: opts.dns };
  const mode = d.mode;
  if (opts.ip && (mode.kind !== 'bridge' ||
    mode.network === DEFAULT_NETWORK)) {
    throw new NetworkError('user specified IP address is supported on ' +
      'user defined networks only');
  }
  if (mode.kind === 'host') {
    setNetns(c.spec, undefined);
    addMounts(c.spec, writeNameFiles(d.filesDir,
      { ...files, hostResolv: true }));
  } else if (mode.kind === 'none') {
    setNetns(c.spec, { type: 'network' });
    addMounts(c.spec, writeNameFiles(d.filesDir, files));
  } else if (mode.kind === 'container') {
    const target = opts.resolveContainer?.(mode.ref) ?? pidRef(mode.ref);
    const path = `/proc/${target.pid}/ns/net`;
    if (!existsSync(path)) {
      throw new NetworkError(`container ${mode.ref} is not running`);
    }
    setNetns(c.spec, { type: 'network', path });
    const ip = target.id ? findLease(cfg, target.id)?.lease.ip : undefined;
    addMounts(c.spec, writeNameFiles(d.filesDir, { ...files, ip }));
  } else {
    d.reservation = reserve(cfg, mode.network, c.id, hostname, ports,
      opts.ip);
    setNetns(c.spec, { type: 'network' });
    addMounts(c.spec, writeNameFiles(d.filesDir,
      { ...files, ip: d.reservation.lease.ip }));
  }
}

function pidRef(ref: string): { pid: number; id?: string } {
  if (!/^\d+$/.test(ref)) {
    throw new NetworkError(`container ${ref} not found`);
  }
  return { pid: Number(ref) };
}

/** Sets (or, with undefined, removes) the spec's network namespace. */
function setNetns(spec: Spec, ns: { type: 'network'; path?: string } |
  undefined): void {
  const list = spec.linux.namespaces.filter((n) => n.type !== 'network');
  if (ns) list.push(ns);
  spec.linux.namespaces.splice(0, spec.linux.namespaces.length, ...list);
}

function addMounts(spec: Spec, mounts: Spec['mounts']): void {
  makeMountPoints(spec.root.path, mounts.map((m) => m.destination));
  // --read-only: docker binds these read-only too.
  if (spec.root.readonly) {
    mounts = mounts.map((m) => ({ ...m, options: (m.options ?? [])
      .map((o) => (o === 'rw' ? 'ro' : o)) }));
  }
  const dests = new Set(mounts.map((m) => m.destination));
  const kept = spec.mounts.filter((m) => !dests.has(m.destination));
  spec.mounts.splice(0, spec.mounts.length, ...kept, ...mounts);
}

/**
 * Creates empty files for the binds in an image that lacks them, as
 * Docker does. The init could do it too, but in a user namespace it is
 * an unprivileged host uid that may not write to the image; we are
 * still host root here. The image is untrusted: a symbolic link on the
 * way (/etc -> /host/etc) resolves inside it, as the init will resolve
 * it (chapter 02's resolveInRoot), never on the host. A read-only
 * image is left to the init.
 */
function makeMountPoints(root: string, dests: string[]): void {
  for (const dest of dests) {
    try {
      const path = resolveInRoot(root, dest);
      if (existsSync(path)) continue;
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      writeFileSync(path, '', { flag: 'wx', mode: 0o644 });
    } catch { /* read-only, or a loop: the init will say so */ }
  }
}

// #region plug-veth
/**
 * A veth pair is a virtual cable: what goes in one end comes out of the
 * other. One end stays on the host, on the bridge; `ip` creates the other
 * directly inside the container's network namespace, named eth0. Then,
 * inside, the address, the links up, and the default route.
 */
function plugVeth(cfg: NetConfig, r: Reservation, pid: number,
  ifname: string): void {
  const { network: net, lease } = r;
  const bits = parseSubnet(net.subnet).bits;
  deleteLink(lease.veth); // a second attach starts afresh
  ipBatch([
    `link add name ${lease.veth} type veth peer name ${ifname} ` +
      `address ${macFor(lease.ip)} netns ${pid}`,
    `link set ${lease.veth} master ${net.bridge} up`,
  ]);
  ipBatch([
    'link set lo up',
    `addr add ${lease.ip}/${bits} dev ${ifname}`,
    `link set ${ifname} up`,
    // Only the first network is the way out (docker's gateway).
    ...ifname === 'eth0' ? [`route add default via ${net.gateway}`] : [],
  ], pid);
  if (lease.ports.length) {
    setPortRules(r.chains, lease.container, lease.ip, net.bridge,
      lease.ports);
    forgetUdpFlows(lease.ports);
  }
  recordInit(cfg, net.name, lease.container, pid);
}
// #endregion

/**
 * Docker's trick: a MAC address made from the IP address (02:42 + the
 * four bytes), so a neighbour's stale ARP entry for a reused address
 * still points at the right card.
 */
export function macFor(ip: string): string {
  return ['02', '42', ...ip.split('.').map((b) =>
    Number(b).toString(16).padStart(2, '0'))].join(':');
}
