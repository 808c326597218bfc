// Test fixtures for chapter 05: a host configuration of the test's own
// (state dir, chain prefix, bridge, a subnet nothing else uses), an
// "outside" host in a network namespace, and containers with a network.
import {
  type ChildProcess, execFileSync, spawn, spawnSync,
} from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import {
  chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOnce, CACHE_DIR, cachedRootfs } from '../01-chroot/rootfs.ts';
import { ALL_NAMESPACES, defaultSpec } from
  '../02-namespaces/defaults.ts';
import { startContainer, type Container } from '../02-namespaces/start.ts';
import { dropCgroups } from '../03-cgroups/testing.ts';
import { busyboxStore, dropStore } from '../04-aufs-overlay/fixtures.ts';
import { uniqueName } from '../../support/testing.ts';
import { overlappingRoute } from './bridge.ts';
import { sweep } from './cleanup.ts';
import { NET_ENV, type NetConfig } from './networks.ts';
import { parsePublish } from './ports.ts';
import { networkStep, type NetworkOptions } from './step.ts';

/** A random 10.x.y.0/<bits> that no host route touches. */
export function freeSubnet(bits = 24): string {
  for (;;) {
    const [a, b] = randomBytes(2);
    const x = 100 + (a % 150); // 10.100-249: clear of 10.255 (resolver)
    const s = `10.${x}.${b & (bits >= 24 ? 255 : 0xf0)}.0/${bits}`;
    if (!overlappingRoute(s)) return s;
  }
}

/** A host configuration no other test or engineer shares. */
export function testConfig(): NetConfig {
  const stateDir = mkdtempSync(join(tmpdir(), 'skiff-net-'));
  // The container's root, mapped to an unprivileged host uid, must be
  // able to reach the /etc files bound from here: mkdtemp made it 0700.
  chmodSync(stateDir, 0o755);
  // "_" ends the prefix: no other process's names start with it.
  const linkPrefix = `${uniqueName('s5')}_`;
  return {
    stateDir,
    chainPrefix: uniqueName('SK5').toUpperCase(),
    linkPrefix,
    defaultBridge: `${linkPrefix}0`,
    defaultSubnet: freeSubnet(),
  };
}

/** Removes everything the configuration made, state dir included. */
export function dropConfig(cfg: NetConfig): void {
  sweep(cfg, true);
  rmSync(cfg.stateDir, { recursive: true, force: true });
}

/** The environment run.ts reads its configuration from. */
export function configEnv(cfg: NetConfig): Record<string, string> {
  const env = { ...process.env } as Record<string, string>;
  for (const [key, name] of Object.entries(NET_ENV)) {
    env[name] = cfg[key as keyof NetConfig];
  }
  return env;
}

/**
 * The busybox rootfs with empty /etc/hosts, hostname and resolv.conf,
 * the mount points for the files the network step binds there.
 */
export function netRootfs(): string {
  const dir = join(CACHE_DIR, 'rootfs-busybox-net');
  return buildOnce(dir, join(dir, 'etc/resolv.conf'), (tmp) => {
    cpSync(cachedRootfs(), tmp, { recursive: true, verbatimSymlinks: true });
    for (const f of ['hosts', 'hostname', 'resolv.conf']) {
      writeFileSync(join(tmp, 'etc', f), '');
    }
  });
}

/**
 * What the demo (run.ts) gets in a test besides its flags: a store of
 * chapter 04's in a temporary directory, holding "busybox", and a cgroup
 * parent of the test's own; drop() removes both, with whatever a killed
 * demo left in them.
 */
export interface DemoHost {
  root: string;
  cgroupParent: string;
  /** run.ts's arguments: the flags, then busybox and the command. */
  args(flags: string[], cmd: string[]): string[];
  drop(): Promise<void>;
}

export async function demoHost(): Promise<DemoHost> {
  const store = await busyboxStore(mkdtempSync(join(tmpdir(),
    'skiff-images-')));
  const cgroupParent = `/${uniqueName('skiff-t5')}`;
  return {
    root: store.root, cgroupParent,
    args: (flags, cmd) => ['--root', store.root, '--cgroup-parent',
      cgroupParent, ...flags, 'busybox', ...cmd],
    async drop() {
      dropStore(store.root);
      await dropCgroups(cgroupParent);
    },
  };
}

export interface Outside {
  /** The namespace's name (ip netns). */
  ns: string;
  /** The host's address towards it, and its own. */
  hostIP: string;
  ip: string;
  /** The host end of its veth pair. */
  hostLink: string;
  remove(): void;
}

// #region outside-host
/**
 * "The internet" for a test: a network namespace joined to the host by
 * a veth pair on a /30 of its own. Nothing leaves the machine.
 */
export function makeOutside(): Outside {
  const ns = uniqueName('sk5o');
  const hostEnd = uniqueName('sk5h');
  const subnet = freeSubnet(30).replace(/\.0\/30$/, '');
  const [hostIP, ip] = [`${subnet}.1`, `${subnet}.2`];
  execFileSync('ip', ['netns', 'add', ns]);
  const batch = [
    `link add ${hostEnd} type veth peer name eth0 netns ${ns}`,
    `addr add ${hostIP}/30 dev ${hostEnd}`, `link set ${hostEnd} up`,
  ].join('\n');
  execFileSync('ip', ['-batch', '-'], { input: batch });
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: [
    `addr add ${ip}/30 dev eth0`, 'link set eth0 up', 'link set lo up',
  ].join('\n') });
  return {
    ns, hostIP, ip, hostLink: hostEnd,
    remove: () => {
      spawnSync('ip', ['link', 'del', hostEnd]);
      spawnSync('ip', ['netns', 'del', ns]);
    },
  };
}
// #endregion

export interface TestContainer extends Container {
  /** stdout and stderr so far. */
  output(): string;
}

/**
 * Can this machine create user namespaces? vm-run's guest cannot (its
 * root is a chroot, and unshare(2) refuses CLONE_NEWUSER in one): there
 * the tests run containers without one, as `docker run --userns host`.
 */
export const USERNS = spawnSync('unshare', ['-U', 'true']).status === 0;

/** The step's options, with `-p` as text, as the tests write it. */
export type TestNetOptions = Omit<NetworkOptions, 'publish'> &
  { publish?: string[] };

/** Starts busybox `args` in a container with a network. */
export async function startNet(cfg: NetConfig, args: string[],
  opts: TestNetOptions = {}, id = randomBytes(32).toString('hex')):
  Promise<TestContainer> {
  const spec = defaultSpec({ rootfs: netRootfs(), args,
    hostname: opts.hostname ?? id.slice(0, 12),
    namespaces: USERNS ? undefined
      : ALL_NAMESPACES.filter((n) => n !== 'user') });
  const c = await startContainer(spec, { id,
    steps: [networkStep({ ...opts, config: cfg,
      publish: opts.publish?.map(parsePublish) })],
    stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ended = [c.stdout, c.stderr].map((s) => new Promise<void>((res) => {
    s?.on('data', (d) => { out += d; });
    s?.on('close', () => res());
    if (!s) res();
  }));
  // The exit can be seen before the last output is read: wait for both.
  const wait = c.wait;
  return Object.assign(c, {
    output: () => out,
    wait: async () => {
      const st = await wait();
      await Promise.race([Promise.all(ended),
        new Promise((r) => setTimeout(r, 2000))]);
      return st;
    },
  });
}

/** Resolves once something accepts TCP connections at host:port. */
export async function waitTcp(host: string, port: number,
  timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ host, port }, () => { s.destroy(); res(true); });
      s.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > end) {
      throw new Error(`nothing listens on ${host}:${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET over HTTP/1.0 with a plain socket; the body. */
export function httpGet(host: string, port: number, path: string,
  timeout = 5000): Promise<string> {
  return new Promise((res, rej) => {
    let data = '';
    const s = connect({ host, port }, () => {
      s.write(`GET ${path} HTTP/1.0\r\n\r\n`);
    });
    s.setTimeout(timeout, () => s.destroy(new Error('http timeout')));
    s.on('data', (d) => { data += d; });
    s.on('end', () => res(data.split('\r\n\r\n').slice(1).join('\r\n\r\n')));
    s.on('error', rej);
  });
}

/**
 * What a test must leave as it found: the configuration's links, rules
 * and chains (other engineers' tests run beside ours: only ours count).
 */
export function hostState(cfg: NetConfig): string {
  const links = execFileSync('ip', ['-o', 'link', 'show'],
    { encoding: 'utf8' }).split('\n').map((l) => l.split(':')[1]?.trim())
    .filter((n) => n?.startsWith(cfg.linkPrefix)).sort();
  const mine = [`${cfg.chainPrefix}-`, `"${cfg.chainPrefix}:`];
  const rules = execFileSync('iptables-save', [], { encoding: 'utf8' })
    .split('\n').filter((l) => mine.some((m) => l.includes(m)));
  return JSON.stringify({ links, rules }, null, 1);
}

/** A network namespace: a name from `ip netns` or a process's. */
export type Where = { ns: string } | { pid: number };

function inNetns(where: Where, cmd: string[]): string[] {
  return 'ns' in where ? ['ip', 'netns', 'exec', where.ns, ...cmd]
    : ['nsenter', `--net=/proc/${where.pid}/ns/net`, ...cmd];
}

// #region peer-server
/**
 * A Node server inside a network namespace that answers each TCP
 * connection or UDP datagram with the address it came from: the test's
 * way to see what source address NAT left on a packet.
 */
export async function peerServer(where: Where, port: number,
  proto: 'tcp' | 'udp' = 'tcp'): Promise<ChildProcess> {
  const code = proto === 'tcp'
    ? `require('net').createServer((s) => s.end(s.remoteAddress + '\\n'))
        .listen(${port}, '0.0.0.0', () => console.log('ready'))`
    : `const u = require('dgram').createSocket('udp4');
       u.on('message', (m, r) => u.send(r.address + '\\n', r.port,
         r.address));
       u.bind(${port}, () => console.log('ready'))`;
  const [cmd, ...args] = inNetns(where, [process.execPath, '-e', code]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    child.stdout!.once('data', () => res());
    child.once('exit', (code) => rej(new Error(`server exited: ${code}`)));
  });
  return child;
}
// #endregion

/** A Node client inside a network namespace; the answer it got. */
export function peerClient(where: Where, host: string, port: number,
  proto: 'tcp' | 'udp' = 'tcp'): string {
  const code = proto === 'tcp'
    ? `const s = require('net').connect(${port}, '${host}');
       s.pipe(process.stdout); s.setTimeout(4000, () => process.exit(3));`
    : `const u = require('dgram').createSocket('udp4');
       u.on('message', (m) => { process.stdout.write(m); process.exit(0) });
       u.send('hi', ${port}, '${host}');
       setTimeout(() => process.exit(3), 4000);`;
  const [cmd, ...args] = inNetns(where, [process.execPath, '-e', code]);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) {
    throw new Error(`client to ${host}:${port}/${proto}: exit ${r.status}` +
      ` ${r.stderr}`);
  }
  return r.stdout.trim();
}

/** Runs a command in a network namespace; its stdout. */
export function execIn(where: Where, cmd: string[], timeout = 10_000):
  string {
  const [c, ...args] = inNetns(where, cmd);
  return execFileSync(c, args, { encoding: 'utf8', timeout });
}

/** A UDP socket of this process, on one source port for its life. */
export interface UdpClient {
  /** Sends one datagram; the answer. */
  ask(host: string, port: number): Promise<string>;
  close(): void;
}

export async function udpClient(): Promise<UdpClient> {
  const u = createSocket('udp4');
  await new Promise<void>((res) => u.bind(0, '127.0.0.1', res));
  return {
    ask: (host, port) => new Promise((res, rej) => {
      const onMessage = (m: Buffer) => {
        clearTimeout(timer);
        res(m.toString().trim());
      };
      const timer = setTimeout(() => {
        u.off('message', onMessage);
        rej(new Error(`no UDP answer from ${host}:${port}`));
      }, 4000);
      u.once('message', onMessage);
      u.send('hi', port, host);
    }),
    close: () => u.close(),
  };
}

/** UDP from this process: sends one datagram, returns the answer. */
export async function udpAsk(host: string, port: number): Promise<string> {
  const u = await udpClient();
  try {
    return await u.ask(host, port);
  } finally {
    u.close();
  }
}
