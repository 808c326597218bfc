// The host side of the network, seen from a hostile neighbour: another
// host routing to the container subnet, a container on another network,
// and a neighbour on a bridge sending to 127.0.0.1.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { needsRoot, uniqueName } from '../../support/testing.ts';
import { ephemeralRange } from './host-ports.ts';
import { chainsOf, ensureBaseChains, ensureNetworkRules } from
  './firewall.ts';
import { sweep } from './cleanup.ts';
import {
  createNetwork, inspectNetwork, listNetworks, removeNetwork,
  type NetConfig,
} from './networks.ts';
import {
  dropConfig, freeSubnet, hostState, makeOutside, peerServer, startNet,
  testConfig, type Outside, type TestContainer, type Where,
} from './testnet.ts';

const SLEEP = ['sleep', '1000'];

/** A port nothing uses now, below the range ephemeral ports come from. */
let nextPort = 25000 + (process.pid % 4000) * 2;
function freePort(): number {
  assert.ok(nextPort < ephemeralRange().start);
  return nextPort++;
}

/**
 * Connects from a network namespace and reads one line: the address the
 * server saw, or undefined when nothing answered within `ms` (a dropped
 * SYN is retried until then; a refusal fails at once).
 */
function reach(where: Where, host: string, port: number, ms = 1500):
  Promise<string | undefined> {
  const code = `const s = require('net').connect(${port}, '${host}');
    let d = ''; s.on('data', (x) => { d += x; });
    s.on('end', () => { process.stdout.write(d); process.exit(0); });
    s.on('error', () => process.exit(2));
    setTimeout(() => process.exit(3), ${ms});`;
  const ns = 'ns' in where ? ['ip', 'netns', 'exec', where.ns]
    : ['nsenter', `--net=/proc/${where.pid}/ns/net`];
  const child = spawn(ns[0], [...ns.slice(1), process.execPath, '-e', code],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  return new Promise((res) => child.on('close', (st) => {
    res(st === 0 ? out.trim() : undefined);
  }));
}

function ipOf(cfg: NetConfig, c: { id: string }): string {
  const ep = listNetworks(cfg).flatMap((n) => n.containers)
    .find((e) => e.id === c.id);
  assert.ok(ep, `no lease for ${c.id}`);
  return ep.ip;
}

/**
 * A neighbour on a bridge's link, plugged in as a container is, whose
 * 127.0.0.1 is not its own: its loopback stays down (no local routes
 * for 127/8), and a route sends 127.0.0.1 to the bridge. What a hostile
 * container can do with a raw socket (CAP_NET_RAW), or a host on the
 * same L2 segment as a bridge with a real card in it.
 */
function makeNeighbour(bridge: string, subnet: string, gateway: string) {
  const ns = uniqueName('sk5n');
  const hostEnd = uniqueName('sk5v');
  const ip = subnet.replace(/\.0\/24$/, '.250');
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-batch', '-'], { input: [
    `link add ${hostEnd} type veth peer name eth0 netns ${ns}`,
    `link set ${hostEnd} master ${bridge}`, `link set ${hostEnd} up`,
  ].join('\n') });
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: [
    `addr add ${ip}/24 dev eth0`, 'link set eth0 up',
    `route add 127.0.0.1/32 via ${gateway} dev eth0`,
  ].join('\n') });
  // Its own kernel must take the answers from 127.0.0.1 on eth0 (this
  // namespace's sysctl, not the host's).
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw',
    'net.ipv4.conf.eth0.route_localnet=1']);
  return {
    ns, ip,
    remove: () => {
      execFileSync('ip', ['link', 'del', hostEnd]);
      execFileSync('ip', ['netns', 'del', ns]);
    },
  };
}

/** A TCP server of this process that answers with the peer's address. */
async function listen(host: string, port: number): Promise<Server> {
  const srv = createServer((s) => s.end(`${s.remoteAddress}\n`));
  await new Promise<void>((res) => srv.listen(port, host, res));
  return srv;
}

describe('chapter 05: the host side', needsRoot, () => {
  let cfg: NetConfig;
  let outside: Outside;
  let initial: string;
  const live: TestContainer[] = [];
  const servers: ChildProcess[] = [];
  const track = (c: TestContainer) => { live.push(c); return c; };
  const serve = async (c: TestContainer, port: number) => {
    servers.push(await peerServer({ pid: c.pid }, port));
  };

  before(() => {
    cfg = testConfig();
    initial = hostState(cfg);
    outside = makeOutside();
  });
  after(async () => {
    for (const s of servers) s.kill();
    for (const c of live) await c.destroy().catch(() => {});
    outside?.remove();
    if (cfg) dropConfig(cfg);
  });

  // #region test-route-in (unused)
  test('other hosts cannot route into containers', async () => {
    const port = freePort();
    const c = track(await startNet(cfg, SLEEP,
      { publish: [`${outside.hostIP}:${port}:80`] }));
    await serve(c, 80); // published
    await serve(c, 81); // not published
    const ip = ipOf(cfg, c);
    // The outside host knows where the containers are: through us.
    execFileSync('ip', ['-n', outside.ns, 'route', 'add',
      cfg.defaultSubnet, 'via', outside.hostIP]);
    const out = { ns: outside.ns };
    const [viaPort, direct80, direct81] = await Promise.all([
      reach(out, outside.hostIP, port, 10_000),
      reach(out, ip, 80), reach(out, ip, 81),
    ]);
    assert.equal(viaPort, outside.ip, 'the published port is not reachable');
    assert.equal(direct80, undefined, 'reached the container port ' +
      'behind a published one without DNAT');
    assert.equal(direct81, undefined, 'reached an unpublished port');
    await c.destroy();
  });
  // #endregion

  // #region test-networks (unused)
  test('networks are isolated', async () => {
    const [na, nb] = [`ga-${process.pid}`, `gb-${process.pid}`];
    createNetwork(na, { subnet: freeSubnet() }, cfg);
    createNetwork(nb, { subnet: freeSubnet() }, cfg);
    try {
      const a1 = track(await startNet(cfg, SLEEP,
        { network: na, publish: ['80'] }));
      const a2 = track(await startNet(cfg, SLEEP, { network: na }));
      const b1 = track(await startNet(cfg, SLEEP, { network: nb }));
      for (const [c, port] of [[a1, 80], [a1, 81], [b1, 81]] as const) {
        await serve(c, port);
      }
      const [a1ip, b1ip] = [ipOf(cfg, a1), ipOf(cfg, b1)];
      // Both ways: the network made first has its rules first.
      const [same, ba80, ba81, ab81] = await Promise.all([
        reach({ pid: a2.pid }, a1ip, 81, 10_000),
        reach({ pid: b1.pid }, a1ip, 80), reach({ pid: b1.pid }, a1ip, 81),
        reach({ pid: a2.pid }, b1ip, 81),
      ]);
      assert.equal(same, ipOf(cfg, a2), 'same network: no answer');
      assert.equal(ba80, undefined, 'another network reached a ' +
        'published container port directly');
      assert.equal(ba81, undefined, `${nb} reached ${na}`);
      assert.equal(ab81, undefined, `${na} reached ${nb}`);
    } finally {
      for (const c of live) await c.destroy();
      removeNetwork(na, cfg);
      removeNetwork(nb, cfg);
    }
  });
  // #endregion

  test('route_localnet guard: 127.0.0.1 is not reachable from a bridge',
    async () => {
      const [na, nb] = [`gl-${process.pid}`, `gm-${process.pid}`];
      const net = createNetwork(na, { subnet: freeSubnet() }, cfg);
      createNetwork(nb, { subnet: freeSubnet() }, cfg);
      // Something on the host that trusts 127.0.0.1: a server bound to
      // it alone, and a container port published on it alone; and a
      // server on the gateway, to see that the neighbour's link works.
      const [hostPort, pubPort] = [freePort(), freePort()];
      const srv = await listen('127.0.0.1', hostPort);
      const ctl = await listen(net.gateway!, hostPort);
      const n = makeNeighbour(net.bridge!, net.subnet!, net.gateway!);
      try {
        const c = track(await startNet(cfg, SLEEP,
          { network: nb, publish: [`127.0.0.1:${pubPort}:80`] }));
        await serve(c, 80);
        assert.equal(await reach({ ns: n.ns }, net.gateway!, hostPort,
          10_000), n.ip, 'the neighbour cannot reach the gateway');
        // #region test-localnet (unused)
        const [host, pub] = await Promise.all([
          reach({ ns: n.ns }, '127.0.0.1', hostPort),
          reach({ ns: n.ns }, '127.0.0.1', pubPort),
        ]);
        assert.equal(host, undefined, 'reached a host service bound to ' +
          '127.0.0.1 from the bridge');
        assert.equal(pub, undefined, 'reached a port published on ' +
          '127.0.0.1 from the bridge');
        // #endregion
        // The host itself still reaches the port: the answers pass the
        // guard as ESTABLISHED.
        assert.equal(await reach({ pid: process.pid }, '127.0.0.1',
          pubPort, 10_000), inspectNetwork(nb, cfg).gateway);
      } finally {
        for (const c of live) await c.destroy();
        srv.close();
        ctl.close();
        n.remove();
        removeNetwork(na, cfg);
        removeNetwork(nb, cfg);
      }
    });

  test('the new rules go with their network, after a crash too; ' +
    'an old hook is replaced', () => {
    const chains = chainsOf(cfg.chainPrefix);
    const filter = () => execFileSync('iptables-save', ['-t', 'filter'],
      { encoding: 'utf8' });
    const guard = (br: string) => `-A ${chains.input} -d 127.0.0.0/8 ` +
      `-i ${br} `;
    const name = `gc-${process.pid}`;
    const net = createNetwork(name, { subnet: freeSubnet() }, cfg);
    assert.ok(filter().includes(`-A INPUT -j ${chains.input}\n`));
    assert.ok(filter().includes(guard(net.bridge!)));
    removeNetwork(name, cfg);
    assert.ok(!filter().includes(guard(net.bridge!)));
    // What an engine killed half-way through creating a network leaves:
    // rules of a bridge no record names. The sweep takes them all.
    const ghost = `${cfg.linkPrefix}x`;
    ensureNetworkRules(chains, ghost, freeSubnet());
    assert.ok(filter().includes(guard(ghost)));
    assert.ok(sweep(cfg).includes(`rules of bridge ${ghost}`));
    assert.ok(!filter().includes(`"${cfg.chainPrefix}:net:${ghost}"`));
    // Chapter 05's first hook DNAT'd packets to 127/8 from anywhere.
    const old = `-A PREROUTING -m addrtype --dst-type LOCAL -j ${chains.dnat}`;
    execFileSync('iptables-restore', ['--noflush', '-w', '5'],
      { input: `*nat\n${old}\nCOMMIT\n` });
    ensureBaseChains(chains);
    const nat = execFileSync('iptables-save', ['-t', 'nat'],
      { encoding: 'utf8' }).split('\n');
    assert.ok(!nat.includes(old), 'the old hook is still there');
    assert.equal(nat.filter((r) => r.endsWith(` -j ${chains.dnat}`) &&
      r.startsWith('-A PREROUTING ')).length, 1);
  });

  test('nothing is left behind', async () => {
    for (const c of live) await c.destroy();
    outside.remove();
    dropConfig(cfg);
    assert.equal(hostState(cfg), initial);
  });
});
