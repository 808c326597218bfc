// Docker's embedded DNS server: on a user network, a container's
// resolv.conf says `nameserver 127.0.0.11`, and the daemon answers
// there, inside the container's own network namespace, with the
// addresses of the containers on the same networks (by name, short id
// and --network-alias), forwarding any other name to the host's
// resolvers. The sockets are made in the container's namespace and
// served by the daemon's event loop: no process per container.
import dgram from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { syscall } from '../../chapters/01-chroot/kernel.ts';
import { leasesOf } from '../../chapters/05-network/ipam.ts';
import {
  DEFAULT_NETWORK, type NetConfig,
} from '../../chapters/05-network/networks.ts';
import {
  EMBEDDED_DNS, forwarders,
} from '../../chapters/05-network/resolv.ts';
import {
  leaseIsLive, NetStore, type Lease,
} from '../../chapters/05-network/store.ts';
import { parseLink } from './container/connect.ts';
import type { Containers } from './container/registry.ts';

const socket = syscall<[number, number, number]>(
  'int socket(int domain, int type, int protocol)');
const bind = syscall<[number, Buffer, number]>(
  'int bind(int fd, const void *addr, uint32_t len)');
const setsockopt = syscall<[number, number, number, Buffer, number]>(
  'int setsockopt(int fd, int level, int name, const void *v, uint32_t n)');
const setns = syscall<[number, number]>('int setns(int fd, int nstype)');
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000; // never inherited by `ip` or an init
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const CLONE_NEWNET = 0x40000000;

/** struct sockaddr_in for 127.0.0.11:53 (port in network order). */
function sockaddr(ip: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  ip.split('.').forEach((part, i) => b.writeUInt8(Number(part), 4 + i));
  return b;
}

// #region bind-in-netns
/**
 * A UDP and a TCP socket bound to 127.0.0.11:53 in process `pid`'s
 * network namespace. A socket belongs to the namespace it was made in,
 * whoever uses it later: so the daemon's main thread enters the
 * container's namespace (setns(2) with CLONE_NEWNET is allowed in a
 * threaded process), makes both, and goes home at once. Everything is
 * synchronous: no other JavaScript runs while we are away.
 */
export function bindInNetns(pid: number): { udp: number; tcp: number } {
  const home = openSync('/proc/thread-self/ns/net', 'r');
  let theirs: number | undefined;
  const made: number[] = [];
  try {
    theirs = openSync(`/proc/${pid}/ns/net`, 'r');
    setns(theirs, CLONE_NEWNET);
    try {
      const addr = sockaddr(EMBEDDED_DNS, 53);
      const udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      made.push(udp);
      bind(udp, addr, addr.length);
      const tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      made.push(tcp);
      const one = Buffer.alloc(4);
      one.writeInt32LE(1);
      setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, one, 4);
      bind(tcp, addr, addr.length);
      return { udp, tcp };
    } finally {
      setns(home, CLONE_NEWNET);
    }
  } catch (err) {
    for (const fd of made) closeSync(fd);
    throw new Error(`dns: bind ${EMBEDDED_DNS}:53 in the network ` +
      `namespace of pid ${pid}: ${(err as Error).message}`, { cause: err });
  } finally {
    if (theirs !== undefined) closeSync(theirs);
    closeSync(home);
  }
}
// #endregion

/** One DNS question (RFC 1035 4.1), as much as we answer. */
export interface Query {
  id: number;
  /** RD, echoed in the answer. */
  recursion: boolean;
  name: string;
  type: number;
  /** The header and the question, copied into the answer. */
  question: Buffer;
}

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const TYPE_PTR = 12;
export const RCODE = { ok: 0, servfail: 2, nxdomain: 3, notimp: 4,
  refused: 5 };

// #region parse-query
/**
 * A standard query with one question, or undefined. Names are a list of
 * length-prefixed labels ending with a zero byte; a query never uses the
 * compression pointers (top bits 11) answers do, so we refuse them.
 */
export function parseQuery(msg: Buffer): Query | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  const isQuery = (flags & 0x8000) === 0 && ((flags >> 11) & 0xf) === 0;
  if (!isQuery || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length && msg[at] !== 0) {
    const len = msg[at];
    if (len > 63 || at + 1 + len > msg.length) return undefined;
    labels.push(msg.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  if (at + 5 > msg.length) return undefined;
  return { id: msg.readUInt16BE(0), recursion: (flags & 0x100) !== 0,
    name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(at + 1),
    question: msg.subarray(0, at + 5) };
}
// #endregion

// #region answer
/**
 * The answer: the query's header and question with QR and RA set, then
 * one A record per address. Each record's name is a pointer (0xc00c) to
 * the question's name at offset 12; TTL 600 s, as docker's.
 */
export function answer(q: Query, rcode: number, addresses: string[] = [])
  : Buffer {
  const head = Buffer.from(q.question.subarray(0, 12));
  head.writeUInt16BE(0x8000 | (q.recursion ? 0x100 : 0) | 0x80 | rcode, 2);
  head.writeUInt16BE(1, 4); // one question
  head.writeUInt16BE(addresses.length, 6); // answers
  head.writeUInt32BE(0, 8); // no authority, no additional records
  const records = addresses.map((ip) => {
    const r = Buffer.alloc(16);
    r.writeUInt16BE(0xc00c, 0);
    r.writeUInt16BE(TYPE_A, 2);
    r.writeUInt16BE(1, 4); // class IN
    r.writeUInt32BE(600, 6);
    r.writeUInt16BE(4, 10);
    ip.split('.').forEach((part, i) => r.writeUInt8(Number(part), 12 + i));
    return r;
  });
  return Buffer.concat([head, q.question.subarray(12), ...records]);
}
// #endregion

/** A reverse lookup's answer: one PTR record naming the container. */
function answerPtr(q: Query, name: string): Buffer {
  const head = answer(q, RCODE.ok);
  head.writeUInt16BE(1, 6);
  const target = Buffer.concat([...name.split('.').map((l) =>
    Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
  Buffer.from([0])]);
  const r = Buffer.alloc(12);
  r.writeUInt16BE(0xc00c, 0);
  r.writeUInt16BE(TYPE_PTR, 2);
  r.writeUInt16BE(1, 4);
  r.writeUInt32BE(600, 6);
  r.writeUInt16BE(target.length, 10);
  return Buffer.concat([head, r, target]);
}

/** What the server needs to know about the containers. */
export interface Directory {
  /**
   * The addresses `name` has for container `asker`: undefined when no
   * container on its networks is called so (the name is not ours).
   */
  lookup(asker: string, name: string): string[] | undefined;
  /** The name of a container at `ip` on `asker`'s networks (PTR). */
  reverse(asker: string, ip: string): string | undefined;
  /** Where `asker`'s other names go: --dns, else the host's servers. */
  upstream(asker: string): string[];
}

interface Peer { network: string; names: string[]; ip: string }

// #region directory
/**
 * The names on a container's networks: for every live lease on each
 * user network it is on, the container's name, short id and aliases
 * (compose's service names are aliases), and `name.network` too. The
 * default bridge has none, as in docker (`--link` was the old way).
 */
export function networkDirectory(all: () => Containers, cfg: NetConfig)
  : Directory {
  const peers = (asker: string): Peer[] => leasesOf(cfg, asker)
    .filter(({ network }) => network !== DEFAULT_NETWORK)
    .flatMap(({ network }) => livePeers(cfg, network).map(([id, ip]) => {
      const peer = all().byId.get(id);
      const names = peer ? [peer.name, id.slice(0, 12),
        ...peer.rec.Endpoints?.[network]?.Aliases ?? []] : [];
      return { network, ip, names: names.map((n) => n.toLowerCase()) };
    }));
  return {
    lookup(asker, name) {
      // A --link alias is a name for the linking container alone.
      const link = (all().byId.get(asker)?.rec.HostConfig.Links ?? [])
        .map(parseLink).find((l) => l.alias.toLowerCase() === name);
      if (link) name = link.target.toLowerCase();
      const ips = peers(asker).filter((p) => p.names.some((n) =>
        n === name || `${n}.${p.network.toLowerCase()}` === name))
        .map((p) => p.ip);
      return ips.length ? [...new Set(ips)] : undefined;
    },
    reverse(asker, ip) {
      const p = peers(asker).find((x) => x.ip === ip && x.names.length);
      return p && `${p.names[0]}.${p.network}`;
    },
    upstream(asker) {
      const hostConfig = all().byId.get(asker)?.rec.HostConfig;
      return forwarders({ servers: hostConfig?.Dns ?? [] });
    },
  };
}
// #endregion

/** [container, address] of every live lease on a network. */
function livePeers(cfg: NetConfig, network: string): [string, string][] {
  return leasesOfNetwork(cfg, network).filter(leaseIsLive)
    .map((l) => [l.container, l.ip]);
}

function leasesOfNetwork(cfg: NetConfig, network: string): Lease[] {
  return Object.values(new NetStore(cfg.stateDir).read(network)?.leases
    ?? {});
}

interface Listener { udp: dgram.Socket; tcp: net.Server }

// #region server
/** One listener per container on a user network, while it runs. */
export class EmbeddedDns {
  private readonly listeners = new Map<string, Listener>();

  constructor(private readonly directory: Directory) {}

  /** Answers in container `id`'s namespace (its init is `pid`). */
  listen(id: string, pid: number): void {
    if (this.listeners.has(id)) return;
    const fds = bindInNetns(pid);
    const udp = dgram.createSocket('udp4');
    udp.on('error', () => {}); // one bad datagram must not end the rest
    udp.on('message', (msg, from) => void this.resolve(id, msg)
      .then((out) => out && udp.send(out, from.port, from.address))
      .catch(() => {}));
    udp.bind({ fd: fds.udp });
    const tcp = net.createServer((conn) => this.serveTcp(id, conn));
    tcp.on('error', () => {});
    tcp.listen({ fd: fds.tcp });
    this.listeners.set(id, { udp, tcp });
  }
  // #endregion

  close(id: string): void {
    const l = this.listeners.get(id);
    if (!l) return;
    this.listeners.delete(id);
    l.udp.close();
    l.tcp.close();
  }

  closeAll(): void {
    for (const id of [...this.listeners.keys()]) this.close(id);
  }

  // #region resolve
  /** The answer to one message, or undefined to stay silent. */
  async resolve(asker: string, msg: Buffer): Promise<Buffer | undefined> {
    const q = parseQuery(msg);
    if (!q) return undefined; // not a query we understand: drop it
    const name = q.name.replace(/\.$/, '');
    const ips = this.directory.lookup(asker, name);
    if (ips) {
      // Ours: IPv4 addresses only; other types get an empty answer.
      return answer(q, RCODE.ok, q.type === TYPE_A ? ips : []);
    }
    const ptr = q.type === TYPE_PTR ? this.reverseName(asker, name)
      : undefined;
    if (ptr) return answerPtr(q, ptr);
    return await forward(msg, this.directory.upstream(asker)) ??
      answer(q, RCODE.servfail);
  }
  // #endregion

  /** "4.3.2.10.in-addr.arpa": the container at 10.2.3.4, if any. */
  private reverseName(asker: string, name: string): string | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(name);
    return m ? this.directory.reverse(asker,
      [m[4], m[3], m[2], m[1]].join('.')) : undefined;
  }

  /** DNS over TCP: each message behind a two-byte length (RFC 1035). */
  private serveTcp(asker: string, conn: net.Socket): void {
    let buf = Buffer.alloc(0);
    conn.on('error', () => {});
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void this.resolve(asker, msg).then((out) => {
          if (!out) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          conn.write(Buffer.concat([len, out]));
        }).catch(() => conn.destroy());
      }
    });
  }
}

/**
 * Asks the upstream servers in turn, from the daemon's namespace, over
 * UDP; the first answer with the query's id wins. Undefined when none
 * answers within 3 s each.
 */
async function forward(msg: Buffer, servers: string[])
  : Promise<Buffer | undefined> {
  for (const server of servers) {
    const reply = await askOne(msg, server).catch(() => undefined);
    if (reply) return reply;
  }
  return undefined;
}

function askOne(msg: Buffer, server: string): Promise<Buffer | undefined> {
  const type = net.isIPv6(server) ? 'udp6' : 'udp4';
  const sock = dgram.createSocket(type);
  return new Promise<Buffer | undefined>((resolve) => {
    const done = (reply?: Buffer) => {
      clearTimeout(timer);
      sock.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done(), 3000);
    sock.on('error', () => done());
    sock.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) ===
        msg.readUInt16BE(0)) done(reply);
    });
    sock.connect(53, server, () => sock.send(msg));
  });
}
