// Crash cleanup: what a killed engine or container left on the host
// (leases, iptables rules, veths), found by comparing the host with the
// leases on disk; with `all`, everything skiff made.
import { spawnSync } from 'node:child_process';
import { deleteBridge } from './bridge.ts';
import { deleteLink, linkExists } from './exec.ts';
import {
  chainsOf, deleteBaseChains, deleteNetworkRules, deletePortRules,
  ruleOwners,
} from './firewall.ts';
import { dropEndpoint, forgetSetUp, netConfig } from './networks.ts';
import {
  NetStore, leaseIsLive, type Lease, type NetworkRecord,
} from './store.ts';

// #region sweep
/**
 * Cleans up after crashed engines: leases whose container and engine
 * are both gone, rules whose owner has no lease, veths left on skiff's
 * bridges. Returns what it removed. With `all`, removes everything
 * skiff made on the host: every network, chain and lease. An engine
 * that knows its containers passes `isLive` (a lease is live while its
 * container runs); by default, while its init or its engine lives.
 */
export function sweep(cfg = netConfig(), all = false,
  isLive: (l: Lease) => boolean = leaseIsLive): string[] {
  const store = new NetStore(cfg.stateDir);
  const chains = chainsOf(cfg.chainPrefix);
  const removed: string[] = [];
  store.withLock(() => {
    const recs = store.list();
    for (const rec of recs) {
      for (const l of Object.values(rec.leases)) {
        if (!all && isLive(l)) continue;
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
      forgetSetUp();
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
