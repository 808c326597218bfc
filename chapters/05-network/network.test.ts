import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { hostMounts, needsRoot, runTs } from '../../support/testing.ts';
import { ephemeralRange } from './host-ports.ts';
import { releaseEndpoint, reserve } from './ipam.ts';
import {
  createNetwork, inspectNetwork, listNetworks, removeNetwork,
  type NetConfig,
} from './networks.ts';
import {
  configEnv, demoHost, type DemoHost, dropConfig, execIn, freeSubnet,
  hostState, httpGet, makeOutside, netRootfs, peerClient, peerServer,
  startNet, testConfig, udpClient, waitTcp, type Outside,
  type TestContainer,
} from './testnet.ts';

const HTTPD = ['httpd', '-f', '-p', '80', '-h', '/'];
const SLEEP = ['sleep', '1000'];

function endpoints(cfg: NetConfig) {
  return listNetworks(cfg).flatMap((n) => n.containers);
}

function ipOf(cfg: NetConfig, c: { id: string }): string {
  const ep = endpoints(cfg).find((e) => e.id === c.id);
  assert.ok(ep, `no lease for ${c.id}`);
  return ep.ip;
}

/** A port nothing uses now, below the range ephemeral ports come from. */
let nextPort = 20000 + (process.pid % 5000) * 2;
function freePort(): number {
  assert.ok(nextPort < ephemeralRange().start);
  return nextPort++;
}

const re = (s: string) => new RegExp(s.replaceAll('.', '\\.'));

/** An address no interface of this host has (TEST-NET would do too). */
const FOREIGN = '10.99.99.99';
const hostAddresses = () => Object.values(networkInterfaces()).flat()
  .map((a) => a?.address);

/** The containers' /etc files still in the state directory. */
function leftFiles(cfg: NetConfig): string[] {
  const dir = join(cfg.stateDir, 'containers');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('chapter 05: container networking', needsRoot, () => {
  let cfg: NetConfig;
  let outside: Outside;
  let demo: DemoHost;
  let initial: string;
  const live: TestContainer[] = [];
  const servers: ChildProcess[] = [];
  const track = (c: TestContainer) => { live.push(c); return c; };

  before(async () => {
    netRootfs();
    demo = await demoHost();
    cfg = testConfig();
    outside = makeOutside();
    initial = hostState(cfg);
  });
  after(async () => {
    for (const s of servers) s.kill();
    for (const c of live) await c.destroy().catch(() => {});
    outside?.remove();
    if (cfg) dropConfig(cfg);
    await demo?.drop();
  });

  test('bridge: eth0 with a pool address, lo up, route, /etc files',
    async () => {
      const c = track(await startNet(cfg, ['sh', '-c',
        'ip -4 -o addr; ip route; cat /etc/hosts /etc/hostname ' +
        '/etc/resolv.conf'], { hostname: 'box', name: 'web' }));
      await c.wait();
      const out = c.output();
      const ip = /eth0\s+inet (\S+)\//.exec(out)?.[1];
      assert.ok(ip, out);
      const gw = inspectNetwork('bridge', cfg).gateway!;
      assert.match(out, /lo\s+inet 127\.0\.0\.1\/8/);
      assert.match(out, re(`default via ${gw} dev eth0`));
      assert.match(out, re(`${ip}\tbox web`));
      assert.match(out, /127\.0\.0\.1\tlocalhost/);
      assert.match(out, /^box$/m);
      assert.match(out, /^nameserver (?!127\.)/m);
      await c.destroy();
      assert.deepEqual(endpoints(cfg), [], 'lease outlived its container');
    });

  test('the host reaches a server in the container at its address',
    async () => {
      const c = track(await startNet(cfg, HTTPD, { hostname: 'srv' }));
      const ip = ipOf(cfg, c);
      await waitTcp(ip, 80);
      assert.equal(await httpGet(ip, 80, '/etc/hostname'), 'srv\n');
      await c.destroy();
    });

  // #region test-egress
  test('egress: the outside host sees the host address as the source',
    async () => {
      servers.push(await peerServer({ ns: outside.ns }, 7001));
      const c = track(await startNet(cfg, ['nc', outside.ip, '7001']));
      await c.wait();
      assert.equal(c.output().trim(), outside.hostIP,
        'the outside saw the container address: no MASQUERADE?');
      await c.destroy();
    });
  // #endregion

  // #region test-publish
  test('-p tcp: from outside, from the host (127.0.0.1 too), hairpin',
    async () => {
      const port = freePort();
      const c = track(await startNet(cfg, HTTPD,
        { hostname: 'pub', publish: [`${port}:80`] }));
      await waitTcp(ipOf(cfg, c), 80);
      const fromOutside = execIn({ ns: outside.ns }, ['busybox', 'wget',
        '-qO-', `http://${outside.hostIP}:${port}/etc/hostname`]);
      assert.equal(fromOutside, 'pub\n');
      assert.equal(await httpGet('127.0.0.1', port, '/etc/hostname'),
        'pub\n');
      assert.equal(await httpGet(outside.hostIP, port, '/etc/hostname'),
        'pub\n');
      const gw = inspectNetwork('bridge', cfg).gateway!;
      for (const target of [gw, outside.hostIP]) {
        const other = track(await startNet(cfg, ['wget', '-qO-',
          `http://${target}:${port}/etc/hostname`]));
        const st = await other.wait();
        assert.equal(other.output(), 'pub\n', `hairpin via ${target}: ` +
          `exit ${st.code}`);
        await other.destroy();
      }
      await c.destroy();
      await assert.rejects(httpGet('127.0.0.1', port, '/etc/hostname', 1000),
        'the mapping outlived its container');
    });
  // #endregion

  test('-p udp: from the host (127.0.0.1), from outside, hairpin; ' +
    'a flow follows the port to a new container', async () => {
    const [p1, p2] = [freePort(), freePort()];
    const c = track(await startNet(cfg, SLEEP, {
      publish: [`127.0.0.1:${p1}:5353/udp`, `${p2}:5353/udp`] }));
    servers.push(await peerServer({ pid: c.pid }, 5353, 'udp'));
    const gw = inspectNetwork('bridge', cfg).gateway!;
    // From 127.0.0.1 the packet is masqueraded to the bridge address.
    const client = await udpClient();
    try {
      assert.equal(await client.ask('127.0.0.1', p1), gw);
      assert.equal(peerClient({ ns: outside.ns }, outside.hostIP, p2,
        'udp'), outside.ip);
      // From another container's namespace, to the port on the gateway.
      const other = track(await startNet(cfg, SLEEP));
      assert.equal(peerClient({ pid: other.pid }, gw, p2, 'udp'), gw);
      await other.destroy();
      await c.destroy();
      // The same client, from the same source port, to a new container
      // on the port: the kernel must have forgotten the old flow.
      const next = track(await startNet(cfg, SLEEP, {
        publish: [`127.0.0.1:${p1}:5353/udp`] }));
      servers.push(await peerServer({ pid: next.pid }, 5353, 'udp'));
      assert.equal(await client.ask('127.0.0.1', p1), gw,
        'the flow still went to the old container');
      await next.destroy();
    } finally {
      client.close();
    }
  });

  test('-p 80: a free host port is picked and reachable', async () => {
    const c = track(await startNet(cfg, HTTPD, { hostname: 'any',
      publish: ['80'] }));
    const ep = endpoints(cfg).find((e) => e.id === c.id)!;
    const port = ep.ports[0].hostPort;
    const { start: lo, end: hi } = ephemeralRange();
    assert.ok(port >= lo && port <= hi, String(port));
    await waitTcp(ep.ip, 80);
    assert.equal(await httpGet('127.0.0.1', port, '/etc/hostname'), 'any\n');
    await c.destroy();
  });

  test('-p ranges: port for port, or any free one of a host range; sctp',
    async () => {
      // Six free ports: a, a+1 for 80-81; r to r+2 for 90; one sctp.
      const a = freePort();
      for (let i = 0; i < 5; i++) freePort();
      const [r, sctp] = [a + 2, a + 5];
      const c = track(await startNet(cfg, HTTPD, { hostname: 'range',
        publish: [`${a}-${a + 1}:80-81`, `${r}-${r + 2}:90`,
          `${sctp}:7/sctp`] }));
      const ep = endpoints(cfg).find((e) => e.id === c.id)!;
      assert.deepEqual(ep.ports.map((p) =>
        `${p.hostPort}:${p.containerPort}/${p.protocol}`),
      [`${a}:80/tcp`, `${a + 1}:81/tcp`, `${r}:90/tcp`, `${sctp}:7/sctp`]);
      await waitTcp(ep.ip, 80);
      assert.equal(await httpGet('127.0.0.1', a, '/etc/hostname'),
        'range\n');
      // iptables does SCTP as it does TCP: a DNAT rule for the port.
      assert.match(execFileSync('iptables', ['-t', 'nat', '-S',
        `${cfg.chainPrefix}-DNAT`], { encoding: 'utf8' }),
      re(`-p sctp -m sctp --dport ${sctp} `));
      const d = track(await startNet(cfg, SLEEP,
        { publish: [`${r}-${r + 2}:90`] }));
      const next = endpoints(cfg).find((e) => e.id === d.id)!;
      assert.equal(next.ports[0].hostPort, r + 1, 'not the next free one');
      await d.destroy();
      await c.destroy();
    });

  test('a taken host port fails the start and leaves nothing', async () => {
    const port = freePort();
    const srv: Server = createServer().listen(port, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    const state = hostState(cfg);
    try {
      await assert.rejects(startNet(cfg, SLEEP, { publish: [`${port}:80`] }),
        re(`port 0.0.0.0:${port}/tcp: address already in use`));
      assert.equal(hostState(cfg), state);
      assert.deepEqual(endpoints(cfg), []);
    } finally {
      srv.close();
    }
    const p2 = freePort();
    const a = track(await startNet(cfg, SLEEP, { publish: [`${p2}:80`] }));
    await assert.rejects(startNet(cfg, SLEEP, { publish: [`${p2}:81`] }),
      /address already in use \(by another container\)/);
    // The same port over UDP is another port.
    const b = track(await startNet(cfg, SLEEP,
      { publish: [`${p2}:81/udp`] }));
    await a.destroy();
    await b.destroy();
  });

  test('bad input: one line, exit 125, nothing left behind', async () => {
    const port = freePort();
    const srv: Server = createServer().listen(port, '0.0.0.0');
    await new Promise((r) => srv.once('listening', r));
    // The default network's bridge and chains stay, as docker0 does.
    reserve(cfg, 'bridge', 'warm-up', 'h', []);
    releaseEndpoint(cfg, 'bridge', 'warm-up');
    const state = hostState(cfg);
    const cases: [string[], RegExp][] = [
      [['-p', '80/icmp'], /^skiff: invalid publish "80\/icmp": protocol/],
      [['-p', '8000:80-81'], /^skiff: invalid publish "8000:80-81": host /],
      [['--network', 'nosuch'], /network nosuch not found$/],
      [['--network', 'container:4999999'], /container 4999999 is not/],
      [['-p', `${port}:80`], re(`port 0.0.0.0:${port}/tcp: address ` +
        'already in use \\(by a host process\\)$')],
      [['--network', 'container:1', '-p', '80'], new RegExp('^skiff: ' +
        'conflicting options: port publishing and the container type ' +
        'network mode$')],
      // Only checked, never sent to: the host has no such address.
      [['-p', `${FOREIGN}:8080:80`], re(`: cannot publish ` +
        `${FOREIGN}:8080: address not assigned to this host$`)],
    ];
    assert.ok(!hostAddresses().includes(FOREIGN), `${FOREIGN} is ours`);
    try {
      for (const [args, message] of cases) {
        const r = runTs('chapters/05-network/run.ts',
          demo.args(args, ['true']), { env: configEnv(cfg) });
        assert.equal(r.status, 125, r.stderr);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr.trim(), message);
        assert.equal(hostState(cfg), state, args.join(' '));
        assert.deepEqual(endpoints(cfg), []);
        assert.deepEqual(leftFiles(cfg), [], args.join(' '));
      }
      assert.deepEqual(hostMounts().filter((m) => m.includes(demo.root)),
        []);
    } finally {
      srv.close();
    }
  });

  test('--network none: only loopback, and it is up', async () => {
    const c = track(await startNet(cfg, ['sh', '-c', 'ip -o link; ' +
      'ping -c1 -W1 127.0.0.1 >/dev/null && echo pong'],
    { network: 'none' }));
    await c.wait();
    const links = c.output().split('\n').filter((l) => /^\d+:/.test(l));
    assert.equal(links.length, 1, c.output());
    assert.match(links[0], /^1: lo: <LOOPBACK,UP/);
    assert.match(c.output(), /pong/);
    await c.destroy();
  });

  test('--network host: the host network namespace', async () => {
    const c = track(await startNet(cfg, ['ip', '-o', 'link'],
      { network: 'host' }));
    await c.wait();
    // The outside host's veth lives only in the host's namespace.
    assert.match(c.output(), re(`: ${outside.hostLink}@`));
    assert.equal(endpoints(cfg).length, 0);
    await c.destroy();
  });

  test('-p with host or none: one warning line, nothing published', () => {
    const state = hostState(cfg);
    for (const mode of ['host', 'none']) {
      const r = runTs('chapters/05-network/run.ts',
        demo.args(['--network', mode, '-p', '8080:80'], ['true']),
        { env: configEnv(cfg) });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, 'WARNING: Published ports are discarded ' +
        `when using ${mode} network mode\n`);
      assert.equal(hostState(cfg), state, mode);
      assert.deepEqual(endpoints(cfg), []);
    }
  });

  test('--network container:<pid> shares the other container\'s eth0',
    async () => {
      const a = track(await startNet(cfg, HTTPD, { hostname: 'first' }));
      const ip = ipOf(cfg, a);
      const b = track(await startNet(cfg, ['sh', '-c',
        'ip -4 -o addr show eth0; wget -qO- http://127.0.0.1/etc/hostname'],
      { network: `container:${a.pid}` }));
      await b.wait();
      assert.match(b.output(), re(`inet ${ip}/`));
      assert.match(b.output(), /^first$/m);
      await b.destroy();
      await a.destroy();
    });

  // #region test-isolation
  test('user networks: reachable inside, isolated from each other',
    async () => {
      const [na, nb] = [`a-${process.pid}`, `b-${process.pid}`];
      createNetwork(na, { subnet: freeSubnet() }, cfg);
      createNetwork(nb, { subnet: freeSubnet() }, cfg);
      try {
        const srv = track(await startNet(cfg, HTTPD,
          { network: na, hostname: 'insidea' }));
        const ip = ipOf(cfg, srv);
        await waitTcp(ip, 80);
        // Not `timeout` as PID 1: it would signal itself, and PID 1 of a
        // namespace ignores signals it has no handler for.
        // A blocked connect hangs until the timeout: short where we
        // expect one, long where a slow machine must get its answer.
        const get = (secs: number) => ['sh', '-c', `timeout ${secs} wget ` +
          `-qO- http://${ip}/etc/hostname; exit $?`];
        const tries = [[na, true], [nb, false], ['bridge', false]] as const;
        const results = await Promise.allSettled(tries.map(async ([net,
          ok]) => {
          const c = track(await startNet(cfg, get(ok ? 30 : 2),
            { network: net }));
          const st = await c.wait();
          assert.equal(st.code === 0, ok, `from ${net}: ${c.output()}`);
          if (ok) assert.equal(c.output(), 'insidea\n');
          await c.destroy();
        }));
        for (const r of results) if (r.status === 'rejected') throw r.reason;
        assert.throws(() => removeNetwork(na, cfg), /has active endpoints/);
      } finally {
        for (const c of live) await c.destroy();
        removeNetwork(na, cfg);
        removeNetwork(nb, cfg);
      }
      assert.ok(!listNetworks(cfg).some((n) => n.name === na));
    });
  // #endregion

  test('network errors: exhausted pool, duplicate, overlapping subnet',
    async () => {
      const name = `tiny-${process.pid}`;
      const subnet = freeSubnet(30);
      createNetwork(name, { subnet }, cfg);
      try {
        assert.throws(() => createNetwork(name, { subnet: freeSubnet() },
          cfg), /already exists/);
        assert.throws(() => createNetwork(`o-${process.pid}`, { subnet },
          cfg), /overlaps network/);
        const a = track(await startNet(cfg, SLEEP, { network: name }));
        assert.equal(ipOf(cfg, a), subnet.replace(/0\/30$/, '2'));
        await assert.rejects(startNet(cfg, SLEEP, { network: name }),
          re(`network "${name}": no free address in ${subnet}`));
        await a.destroy();
      } finally {
        removeNetwork(name, cfg);
      }
      await assert.rejects(startNet(cfg, SLEEP, { network: 'nosuch' }),
        /network nosuch not found/);
    });

  test('after every container is gone: no veth, rule or lease is left',
    async () => {
      for (const c of live) await c.destroy();
      assert.deepEqual(endpoints(cfg), []);
      const rules = execFileSync('iptables-save', [], { encoding: 'utf8' });
      assert.doesNotMatch(rules, re(`${cfg.chainPrefix}:ctr:`));
      const veths = execFileSync('ip', ['-o', 'link', 'show', 'master',
        cfg.defaultBridge], { encoding: 'utf8' });
      assert.equal(veths.trim(), '');
      dropConfig(cfg);
      assert.equal(hostState(cfg), initial);
    });
});
