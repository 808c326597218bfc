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
  /** Use the host's resolv.conf unchanged (host mode). */
  hostResolv?: boolean;
}

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
    'resolv.conf': f.hostResolv
      ? readLines('/etc/resolv.conf').join('\n') : containerResolvConf(),
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
