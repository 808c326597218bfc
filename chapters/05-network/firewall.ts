// The iptables side: NAT for egress, DNAT for published ports, the
// filter rules that keep networks apart and other hosts out, and the
// guard that route_localnet needs. Everything lives in chains of
// skiff's own (SKIFF-*), hooked once from the built-in chains, and every
// rule carries a comment naming its owner ("SKIFF:net:skiff0",
// "SKIFF:ctr:<id>"), so an owner's rules can be listed and deleted
// without remembering them, even after a crash.
import {
  iptablesApply, iptablesSnapshot, type IptablesSnapshot,
} from './exec.ts';
import { spawnSync } from 'node:child_process';
import type { PublishedPort } from './ports.ts';

export interface Chains {
  prefix: string;
  dnat: string; postrouting: string;
  forward: string; published: string; isolation1: string; isolation2: string;
  input: string;
}

export function chainsOf(prefix: string): Chains {
  return {
    prefix,
    dnat: `${prefix}-DNAT`, postrouting: `${prefix}-POSTROUTING`,
    forward: `${prefix}-FORWARD`, published: `${prefix}-PUBLISHED`,
    isolation1: `${prefix}-ISOLATION-1`, isolation2: `${prefix}-ISOLATION-2`,
    input: `${prefix}-INPUT`,
  };
}

type Tables = { nat: string[]; filter: string[] };

/** skiff's own chains, per table. */
function ownChains(c: Chains): Tables {
  return {
    nat: [c.dnat, c.postrouting],
    filter: [c.forward, c.published, c.isolation1, c.isolation2, c.input],
  };
}

// #region base-chains
/** The chains and the jumps into them from the built-in chains. */
function baseRules(c: Chains): Tables {
  return {
    nat: [
      // Published ports: for packets arriving from elsewhere (never to
      // 127/8: only a neighbour on a bridge can send those, below) ...
      `-A PREROUTING ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL ` +
        `-j ${c.dnat}`,
      // ... and for the host's own connections, 127.0.0.1 included.
      `-A OUTPUT -m addrtype --dst-type LOCAL -j ${c.dnat}`,
      `-A POSTROUTING -j ${c.postrouting}`,
    ],
    filter: [
      `-A FORWARD -j ${c.forward}`,
      `-A INPUT -j ${c.input}`,
      `-A ${c.forward} -j ${c.isolation1}`,
      `-A ${c.forward} -j ${c.published}`,
      // A published port may be reached from any network.
      `-A ${c.isolation1} -m conntrack --ctstate DNAT -j RETURN`,
    ],
  };
}
// #endregion

/**
 * Creates the chains and hooks that are missing. Callers hold the
 * store's lock: declaring a chain that exists would flush it.
 */
export function ensureBaseChains(c: Chains,
  snap = iptablesSnapshot()): void {
  const want = baseRules(c);
  const out: Tables = { nat: [], filter: [] };
  for (const table of ['nat', 'filter'] as const) {
    const missing = ownChains(c)[table]
      .filter((ch) => !snap.chains[table].has(ch));
    out[table].push(...missing.map((ch) => `:${ch} - [0:0]`));
    // Hooks of an earlier version of these rules go.
    out[table].push(...hooks(c, table, snap)
      .filter((r) => !want[table].includes(r)).map((r) => `-D${r.slice(2)}`));
    const rules = new Set(snap.rules[table]);
    for (const rule of want[table].filter((r) => !rules.has(r))) {
      // The FORWARD and INPUT jumps go first, ahead of any host policy.
      out[table].push(rule.replace(/^-A (FORWARD|INPUT) /, '-I $1 1 '));
    }
  }
  iptablesApply(out);
}

/**
 * The hooks: rules outside skiff's chains that jump into one of them,
 * whatever their matches (an earlier version's included).
 */
function hooks(c: Chains, table: 'nat' | 'filter',
  snap: IptablesSnapshot): string[] {
  const mine = ownChains(c)[table];
  return snap.rules[table].filter((r) =>
    !mine.some((ch) => r.startsWith(`-A ${ch} `)) &&
    mine.some((ch) => r.endsWith(` -j ${ch}`)));
}

// #region network-rules
/** Rules of one bridge network, tagged with its bridge name. */
function networkRules(c: Chains, bridge: string, subnet: string): Tables {
  const tag = `-m comment --comment "${c.prefix}:net:${bridge}"`;
  return {
    nat: [
      // Egress: leaving through anything but the bridge, the container's
      // address is replaced by the outgoing interface's.
      `-A ${c.postrouting} -s ${subnet} ! -o ${bridge} ${tag} -j MASQUERADE`,
      // The host's 127.0.0.1 to a published port: the container could
      // not answer 127.0.0.1, so give the packet the bridge's address.
      `-A ${c.postrouting} -s 127.0.0.0/8 -o ${bridge} ${tag} -j MASQUERADE`,
      // Hairpin: a container to a port published on the same bridge.
      `-A ${c.postrouting} -s ${subnet} -o ${bridge} -m conntrack ` +
        `--ctstate DNAT ${tag} -j MASQUERADE`,
    ],
    filter: [
      `-A ${c.isolation1} -i ${bridge} ! -o ${bridge} ${tag} ` +
        `-j ${c.isolation2}`,
      `-A ${c.isolation2} -o ${bridge} ${tag} -j DROP`,
      `-A ${c.forward} -o ${bridge} -m conntrack --ctstate ` +
        `RELATED,ESTABLISHED ${tag} -j ACCEPT`,
      `-A ${c.forward} -i ${bridge} ${tag} -j ACCEPT`,
      // Nothing else enters the network unless a port is published.
      `-A ${c.forward} -o ${bridge} ${tag} -j DROP`,
      localnetGuard(c, bridge, tag),
    ],
  };
}
// #endregion

// #region localnet-guard
/**
 * route_localnet (bridge.ts) lets packets for 127/8 in from the bridge,
 * and the host's services bound to 127.0.0.1 trust whatever comes to
 * it: a neighbour on the bridge must not be able to connect there
 * (CVE-2020-8558, kube-proxy's KUBE-FIREWALL rule). Only the answers
 * to the host's own connections to published ports may pass.
 */
function localnetGuard(c: Chains, bridge: string, tag: string): string {
  return `-A ${c.input} -d 127.0.0.0/8 -i ${bridge} -m conntrack ! ` +
    `--ctstate RELATED,ESTABLISHED ${tag} -j DROP`;
}
// #endregion

/** Adds a network's rules unless all of them are there already. */
export function ensureNetworkRules(c: Chains, bridge: string,
  subnet: string, snap = iptablesSnapshot()): void {
  const want = networkRules(c, bridge, subnet);
  const haveNat = new Set(snap.rules.nat);
  const haveFilter = new Set(snap.rules.filter);
  if (want.nat.every((r) => haveNat.has(r)) &&
    want.filter.every((r) => haveFilter.has(r))) return;
  // Some are missing: replace all, so that their order is right.
  iptablesApply(mergeTables(deletions(c, `net:${bridge}`, snap), want));
}

export function deleteNetworkRules(c: Chains, bridge: string): void {
  iptablesApply(deletions(c, `net:${bridge}`));
}

function mergeTables(a: Tables, b: Tables): Tables {
  return { nat: [...a.nat, ...b.nat], filter: [...a.filter, ...b.filter] };
}

// #region port-rules
/** Rules publishing a container's ports, tagged with its id. */
function portRules(c: Chains, id: string, ip: string, bridge: string,
  ports: PublishedPort[]): Tables {
  const tag = `-m comment --comment "${c.prefix}:ctr:${id}"`;
  const out: Tables = { nat: [], filter: [] };
  for (const p of ports) {
    const proto = `-p ${p.protocol} -m ${p.protocol}`;
    const dst = p.hostIP ? `-d ${p.hostIP}/32 ` : '';
    out.nat.push(`-A ${c.dnat} ${dst}${proto} --dport ${p.hostPort} ` +
      `${tag} -j DNAT --to-destination ${ip}:${p.containerPort}`);
    // Only what DNAT sent: the container port itself stays closed to
    // a host that routes to the container's address directly.
    out.filter.push(`-A ${c.published} -d ${ip}/32 -o ${bridge} ${proto} ` +
      `--dport ${p.containerPort} -m conntrack --ctstate DNAT ${tag} ` +
      '-j ACCEPT');
  }
  return out;
}
// #endregion

/**
 * Publishes a container's ports, replacing the rules it had before, in
 * one atomic iptables-restore: running it twice leaves one set.
 */
export function setPortRules(c: Chains, id: string, ip: string,
  bridge: string, ports: PublishedPort[]): void {
  iptablesApply(mergeTables(deletions(c, `ctr:${id}`),
    portRules(c, id, ip, bridge, ports)));
}

export function deletePortRules(c: Chains, id: string): void {
  iptablesApply(deletions(c, `ctr:${id}`));
}

// #region forget-udp
/**
 * Forgets the kernel's UDP "connections" to published host ports, with
 * conntrack(8). UDP has no end: a client that keeps sending keeps its
 * conntrack entry alive, and the entry, not the rules, says where its
 * packets go. A container publishing a port that another one had (or
 * that nobody had when the client began) would never see them.
 */
export function forgetUdpFlows(ports: PublishedPort[]): void {
  for (const p of ports.filter((p) => p.protocol === 'udp')) {
    const dst = p.hostIP ? ['--orig-dst', p.hostIP] : [];
    // Exit status 1 means "0 flow entries have been deleted".
    spawnSync('conntrack', ['-D', '-p', 'udp', ...dst,
      '--orig-port-dst', String(p.hostPort)], { stdio: 'ignore' });
  }
}
// #endregion

/** `-D` lines for every rule whose comment is `<prefix>:<owner>`. */
function deletions(c: Chains, owner: string,
  snap = iptablesSnapshot()): Tables {
  const mark = `--comment "${c.prefix}:${owner}" `;
  const del = (table: string) => snap.rules[table]
    .filter((r) => r.includes(mark)).map((r) => `-D${r.slice(2)}`);
  return { nat: del('nat'), filter: del('filter') };
}

/** Owners ("ctr:<id>", "net:<bridge>") that have rules now. */
export function ruleOwners(c: Chains,
  snap = iptablesSnapshot()): Set<string> {
  const re = new RegExp(`--comment "${c.prefix}:([^"]+)"`);
  const owners = new Set<string>();
  for (const table of ['nat', 'filter']) {
    for (const r of snap.rules[table]) {
      const m = re.exec(r);
      if (m) owners.add(m[1]);
    }
  }
  return owners;
}

/** Removes skiff's hooks and chains, with whatever rules they hold. */
export function deleteBaseChains(c: Chains,
  snap = iptablesSnapshot()): void {
  const del = (table: 'nat' | 'filter') => {
    const mine = ownChains(c)[table].filter((ch) => snap.chains[table].has(ch));
    return [...hooks(c, table, snap).map((r) => `-D${r.slice(2)}`),
      ...mine.map((ch) => `-F ${ch}`), ...mine.map((ch) => `-X ${ch}`)];
  };
  iptablesApply({ nat: del('nat'), filter: del('filter') });
}
