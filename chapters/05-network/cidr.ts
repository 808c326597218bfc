// IPv4 addresses and subnets as plain numbers: 10.1.2.3 is 0x0a010203.
// Enough arithmetic for an address pool; IPv6 is left as an exercise.

export interface Subnet {
  /** The network address as a number (host bits zero). */
  readonly base: number;
  /** Prefix length: 24 for a /24. */
  readonly bits: number;
}

/** "10.1.2.3" -> 0x0a010203; throws on anything else. */
export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) ||
    Number(p) > 255)) {
    throw new Error(`invalid IPv4 address "${ip}"`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** "10.1.2.0/24" -> {base, bits}; the host bits must be zero. */
export function parseSubnet(cidr: string): Subnet {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  const bits = m ? Number(m[2]) : NaN;
  if (!m || bits > 30 || bits < 8) {
    throw new Error(`invalid subnet "${cidr}": want a.b.c.d/8../30`);
  }
  const base = ipToInt(m[1]);
  if ((base & ~maskOf(bits)) !== 0) {
    throw new Error(`invalid subnet "${cidr}": host bits are set ` +
      `(did you mean ${formatSubnet({ base: base & maskOf(bits), bits })}?)`);
  }
  return { base: base >>> 0, bits };
}

export function formatSubnet(s: Subnet): string {
  return `${intToIp(s.base)}/${s.bits}`;
}

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export function size(s: Subnet): number {
  return 2 ** (32 - s.bits);
}

export function broadcast(s: Subnet): number {
  return s.base + size(s) - 1;
}

export function contains(s: Subnet, ip: number): boolean {
  return ((ip & maskOf(s.bits)) >>> 0) === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return contains(a, b.base) || contains(b, a.base);
}
