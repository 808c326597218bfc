// The host side of a bridge network: a Linux bridge, a virtual switch,
// holding the gateway address. Containers' veth ends plug into it.
import { writeFileSync } from 'node:fs';
import { formatSubnet, overlaps, parseSubnet } from './cidr.ts';
import { deleteLink, ip, ipBatch } from './exec.ts';

// #region ensure-bridge
/** Creates the bridge with the gateway address, unless it is there. */
export function ensureBridge(bridge: string, gateway: string,
  subnet: string): void {
  const bits = parseSubnet(subnet).bits;
  const have = bridgeAddresses(bridge);
  if (have === undefined) {
    ipBatch([
      `link add name ${bridge} type bridge`,
      `addr add ${gateway}/${bits} dev ${bridge}`,
      `link set ${bridge} up`,
    ]);
  } else if (!have.includes(`${gateway}/${bits}`)) {
    ipBatch([`addr add ${gateway}/${bits} dev ${bridge}`,
      `link set ${bridge} up`]);
  }
  // Route between interfaces at all (off by default on most hosts) ...
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  // ... and let packets for 127.0.0.1 that DNAT turned towards a
  // container leave through the bridge; the kernel drops "martian"
  // loopback sources on other interfaces otherwise.
  writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
}
// #endregion

/** "10.1.0.1/24"-style addresses of a link; undefined if none exists. */
function bridgeAddresses(name: string): string[] | undefined {
  let out: string;
  try {
    out = ip('-j', 'addr', 'show', 'dev', name);
  } catch {
    return undefined;
  }
  const [link] = JSON.parse(out) as {
    addr_info?: { family: string; local: string; prefixlen: number }[];
  }[];
  return (link?.addr_info ?? []).filter((a) => a.family === 'inet')
    .map((a) => `${a.local}/${a.prefixlen}`);
}

export function deleteBridge(bridge: string): void {
  deleteLink(bridge);
}

/**
 * A host route that overlaps `subnet`, other than those of `ignore`
 * (skiff's own bridges): using it would cut the host off from a network.
 */
export function overlappingRoute(subnet: string,
  ignore: string[] = []): string | undefined {
  const want = parseSubnet(subnet);
  type Route = { dst: string; dev?: string; type?: string };
  const routes: Route[] = JSON.parse(ip('-j', '-4', 'route', 'show'));
  for (const r of routes) {
    if (r.dst === 'default' || (r.type && r.type !== 'unicast')) continue;
    if (r.dev && ignore.includes(r.dev)) continue;
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    let s;
    try {
      s = parseRoute(dst);
    } catch {
      continue;
    }
    if (overlaps(want, s)) return `${formatSubnet(s)} dev ${r.dev ?? '?'}`;
  }
  return undefined;
}

/** Like parseSubnet, but for any prefix length, host bits ignored. */
function parseRoute(cidr: string) {
  const [addr, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const parts = addr.split('.').map(Number);
  const n = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) |
    parts[3]) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (n & mask) >>> 0, bits };
}
