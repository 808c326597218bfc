// The three files a program reads to learn who it is and whom to ask:
// /etc/hostname, /etc/hosts and /etc/resolv.conf. The engine writes them
// on the host, in the container's state directory, and bind-mounts them
// over the image's copies, as Docker does; the image stays untouched.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Mount } from '../02-namespaces/spec.ts';

export interface NameFiles {
  hostname: string;
  /** The container's address, if it has one besides loopback. */
  ip?: string;
  /** Extra names for the address (e.g. the container's name). */
  aliases?: string[];
  /** Use the host's resolv.conf (host mode), with `dns` applied. */
  hostResolv?: boolean;
  /** --add-host's entries: [name, address]. */
  extraHosts?: [string, string][];
  /** --dns, --dns-search, --dns-option and the embedded server. */
  dns?: DnsSettings;
}

/** What a container's resolv.conf says besides the host's. */
export interface DnsSettings {
  /** --dns: nameservers instead of the host's. */
  servers?: string[];
  /** --dns-search: search domains ("." for none). */
  search?: string[];
  /** --dns-option: resolver options (ndots:2, rotate...). */
  options?: string[];
  /** The engine answers on 127.0.0.11 (user networks, as docker). */
  embedded?: boolean;
}

/** Where docker's embedded DNS server answers, in every container. */
export const EMBEDDED_DNS = '127.0.0.11';

/** Public resolvers a container falls back to, as Docker does. */
export const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

// #region resolv
/**
 * The host's resolv.conf, made usable from another network namespace.
 * A loopback nameserver (systemd-resolved's 127.0.0.53, dnsmasq's
 * 127.0.0.1) answers only inside the host's namespace: in a container
 * 127.0.0.53 is the container's own loopback. systemd-resolved writes
 * the real upstream servers to /run/systemd/resolve/resolv.conf, so we
 * use those; failing that, Docker's fallback, Google's public servers.
 */
export function containerResolvConf(
  hostFile = '/etc/resolv.conf',
  upstreamFile = '/run/systemd/resolve/resolv.conf',
): string {
  let lines = readLines(hostFile);
  if (servers(lines).some(isLoopback) && existsSync(upstreamFile)) {
    lines = readLines(upstreamFile);
  }
  const kept = lines.filter((l) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    return !m || !isLoopback(m[1]);
  });
  if (servers(kept).length === 0) {
    kept.push('# skiff: no usable nameserver on the host; fallback:',
      ...FALLBACK_NAMESERVERS.map((s) => `nameserver ${s}`));
  }
  return kept.join('\n').trim() + '\n';
}
// #endregion

/** The three things a resolver reads from resolv.conf(5). */
export function parseResolv(text: string): { servers: string[];
  search: string[]; options: string[] } {
  const lines = text.split('\n');
  const words = (key: string) => lines.map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0] === key).map((w) => w.slice(1));
  // The last search (or domain) line wins; options add up.
  const search = [...words('domain'), ...words('search')].at(-1) ?? [];
  return { servers: servers(lines), search, options: words('options')
    .flat() };
}

// #region resolv-dns
/**
 * resolv.conf as docker writes it: the host's, unchanged unless the
 * user set --dns, --dns-search or --dns-option (each replaces the
 * host's line). With the embedded server the only nameserver is
 * 127.0.0.11, and ndots:0 makes every name go to it as typed (the
 * servers it forwards to are the --dns ones, or the host's).
 */
export function resolvConf(base: string, dns: DnsSettings = {}): string {
  const set = (list?: string[]) => list?.length ? list : undefined;
  if (!dns.embedded && !set(dns.servers) && !set(dns.search) &&
    !set(dns.options)) return base;
  const host = parseResolv(base);
  const servers = dns.embedded ? [EMBEDDED_DNS]
    : set(dns.servers) ?? host.servers;
  const search = (set(dns.search) ?? host.search)
    .filter((d) => d !== '.');
  const options = set(dns.options) ?? host.options;
  if (dns.embedded && !options.some((o) => o.startsWith('ndots:'))) {
    options.push('ndots:0');
  }
  return [search.length ? `search ${search.join(' ')}` : '',
    ...servers.map((s) => `nameserver ${s}`),
    options.length ? `options ${options.join(' ')}` : '']
    .filter(Boolean).join('\n') + '\n';
}
// #endregion

/**
 * Where the embedded server sends names it does not know: --dns, or
 * the host's own nameservers. It asks from the host's namespace, so a
 * loopback resolver (127.0.0.53) works too.
 */
export function forwarders(dns: DnsSettings = {},
  hostFile = '/etc/resolv.conf'): string[] {
  if (dns.servers?.length) return dns.servers;
  return servers(readLines(hostFile));
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

function servers(lines: string[]): string[] {
  return lines.map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined);
}

function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1';
}

export function hostsFile(f: NameFiles): string {
  const names = [f.hostname, ...(f.aliases ?? [])]
    .filter((n, i, all) => n && all.indexOf(n) === i).join(' ');
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...(f.extraHosts ?? []).map(([host, ip]) => `${ip}\t${host}`),
    f.ip ? `${f.ip}\t${names}` : `127.0.1.1\t${names}`,
  ].join('\n') + '\n';
}

// #region name-files
/**
 * Writes hostname, hosts and resolv.conf into `dir` and returns the
 * spec mounts that put them at /etc in the container.
 */
export function writeNameFiles(dir: string, f: NameFiles): Mount[] {
  // Mode 0755/0644: the container's root may be an unprivileged host
  // uid (user namespaces) and must still read them.
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files: Record<string, string> = {
    hostname: f.hostname + '\n',
    hosts: hostsFile(f),
    'resolv.conf': resolvConf(f.hostResolv
      ? readLines('/etc/resolv.conf').join('\n') : containerResolvConf(),
    f.dns),
  };
  return Object.entries(files).map(([name, text]) => {
    writeFileSync(join(dir, name), text, { mode: 0o644 });
    return {
      destination: `/etc/${name}`, type: 'bind', source: join(dir, name),
      options: ['rbind', 'rw'],
    };
  });
}
// #endregion
