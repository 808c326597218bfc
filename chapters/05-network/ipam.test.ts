import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { needsRoot, REPO, tempDir } from '../../support/testing.ts';
import { parseSubnet } from './cidr.ts';
import { sweep } from './cleanup.ts';
import { findLease, releaseEndpoint, reserve } from './ipam.ts';
import { listNetworks, type NetConfig } from './networks.ts';
import { parsePublish } from './ports.ts';
import { containerResolvConf, resolvConf } from './resolv.ts';
import { networkStep } from './step.ts';
import {
  configEnv, demoHost, type DemoHost, dropConfig, freeSubnet, hostState,
  testConfig,
} from './testnet.ts';

describe('chapter 05: parsing', () => {
  test('subnets must be proper networks', () => {
    assert.deepEqual(parseSubnet('10.1.2.0/24'), { base: 0x0a010200,
      bits: 24 });
    assert.throws(() => parseSubnet('10.1.2.3/24'),
      /host bits are set \(did you mean 10\.1\.2\.0\/24\?\)/);
    assert.throws(() => parseSubnet('10.1.2.0/31'), /invalid subnet/);
  });

  test('resolv.conf: loopback resolvers replaced by upstream or fallback',
    (t) => {
      const dir = tempDir(t);
      const host = join(dir, 'resolv.conf');
      const upstream = join(dir, 'upstream.conf');
      writeFileSync(host, 'nameserver 127.0.0.53\noptions edns0\n' +
        'search example.test\n');
      writeFileSync(upstream, 'nameserver 10.9.8.7\nsearch example.test\n');
      assert.equal(containerResolvConf(host, upstream),
        'nameserver 10.9.8.7\nsearch example.test\n');
      const fallback = containerResolvConf(host, join(dir, 'none'));
      assert.match(fallback, /^nameserver 8\.8\.8\.8$/m);
      assert.match(fallback, /^options edns0$/m);
      assert.doesNotMatch(fallback, /127\.0\.0\.53/);
      writeFileSync(host, 'nameserver 127.0.0.1\nnameserver 10.1.1.1\n');
      assert.equal(containerResolvConf(host, join(dir, 'none')),
        'nameserver 10.1.1.1\n');
    });
});

describe('chapter 05: resolv.conf with --dns* and the embedded server',
  () => {
    const host = 'nameserver 10.9.8.7\nsearch a.test\noptions edns0\n';
    test('unchanged without settings; each flag replaces its line', () => {
      assert.equal(resolvConf(host), host);
      assert.equal(resolvConf(host, { servers: ['192.0.2.1'],
        options: ['rotate'] }),
      'search a.test\nnameserver 192.0.2.1\noptions rotate\n');
      assert.equal(resolvConf(host, { search: ['.'] }),
        'nameserver 10.9.8.7\noptions edns0\n');
    });
    test('embedded: 127.0.0.11 alone, ndots:0 unless set', () => {
      assert.equal(resolvConf(host, { embedded: true,
        servers: ['192.0.2.1'] }),
      'search a.test\nnameserver 127.0.0.11\noptions edns0 ndots:0\n');
      assert.equal(resolvConf(host, { embedded: true,
        options: ['ndots:2'] }),
      'search a.test\nnameserver 127.0.0.11\noptions ndots:2\n');
    });
  });

describe('chapter 05: address pool', needsRoot, () => {
  let cfg: NetConfig;
  before(() => { cfg = testConfig(); });
  after(() => { if (cfg) dropConfig(cfg); });

  test('never the network, gateway or broadcast address; then a clear ' +
    'error', () => {
      const small = { ...testConfig(), defaultSubnet: freeSubnet(29) };
      try {
        const base = small.defaultSubnet.replace(/\.0\/29$/, '');
        const got = [1, 2, 3, 4, 5].map((i) =>
          reserve(small, 'bridge', `c${i}`, 'h', []).lease.ip);
        assert.deepEqual(got.sort(), [2, 3, 4, 5, 6].map((i) =>
          `${base}.${i}`));
        assert.throws(() => reserve(small, 'bridge', 'c6', 'h', []),
          new RegExp(`network "bridge": no free address in ${base}` +
            '\\.0/29'));
        // Released addresses come back, last.
        releaseEndpoint(small, 'bridge', 'c3');
        assert.equal(reserve(small, 'bridge', 'c7', 'h', []).lease.ip,
          got[2]);
        // Asking again for a container returns its lease.
        assert.equal(reserve(small, 'bridge', 'c1', 'h', []).lease.ip,
          got[0]);
        // --ip: never on a network whose subnet was not chosen.
        assert.throws(() => reserve(small, 'bridge', 'c8', 'h', [],
          `${base}.3`), /only when connecting to networks with user/);
      } finally {
        dropConfig(small);
      }
    });
});

/** vm-run's guest is ten times slower: fewer, still concurrent, starts. */
const STARTS = process.env.SKIFF_VM ? 6 : 20;

describe('chapter 05: many containers, crashes, idempotence', needsRoot,
  () => {
    let cfg: NetConfig;
    let demo: DemoHost;
    let initial: string;
    before(async () => {
      demo = await demoHost();
      cfg = testConfig();
      initial = hostState(cfg);
    });
    after(async () => {
      if (cfg) dropConfig(cfg);
      await demo?.drop();
    });

    // #region test-concurrent
    test(`${STARTS} concurrent starts in as many processes: distinct ` +
      'addresses, nothing left after', { timeout: 600_000 }, async () => {
      // Each container prints its address, then waits for its stdin to
      // close: all twenty hold their lease at the same time.
      const procs = Array.from({ length: STARTS }, () => spawn(
        process.execPath, ['--import', 'tsx', 'chapters/05-network/run.ts',
          ...demo.args(['-p', '80'], ['sh', '-c',
            'ip -4 -o addr show eth0; read x || true'])],
        { cwd: REPO, env: configEnv(cfg) }));
      const exits = procs.map((p) =>
        new Promise<number | null>((res) => p.on('exit', res)));
      try {
        const outs = await Promise.all(procs.map((p) =>
          new Promise<string>((res, rej) => {
            let out = '';
            p.stdout.on('data', (d) => {
              out += d;
              if (/inet /.test(out)) res(out);
            });
            p.stderr.on('data', (d) => { out += d; });
            p.on('exit', () => rej(new Error(out)));
          })));
        const ips = outs.map((o) => /inet (\S+)\//.exec(o)?.[1]);
        assert.equal(new Set(ips).size, STARTS, outs.join('\n'));
        const leased = listNetworks(cfg)[0].containers;
        assert.deepEqual(leased.map((c) => c.ip).sort(), [...ips].sort());
        assert.equal(new Set(leased.map((c) => c.ports[0].hostPort)).size,
          STARTS);
      } finally {
        for (const p of procs) p.stdin.end();
        await Promise.all(exits);
      }
      assert.deepEqual(await Promise.all(exits), procs.map(() => 0));
      assert.deepEqual(listNetworks(cfg)[0].containers, []);
      const rules = execFileSync('iptables-save', [], { encoding: 'utf8' });
      assert.doesNotMatch(rules, new RegExp(`${cfg.chainPrefix}:ctr:`));
      const veths = execFileSync('ip', ['-o', 'link', 'show', 'master',
        cfg.defaultBridge], { encoding: 'utf8' });
      assert.equal(veths.trim(), '');
    });
    // #endregion

    test('sweep cleans up after a killed engine and container', async () => {
      const p = spawn(process.execPath, ['--import', 'tsx',
        'chapters/05-network/run.ts', ...demo.args(['-p', '80'],
          ['sleep', '1000'])],
      { cwd: REPO, env: configEnv(cfg), stdio: 'ignore' });
      let lease;
      for (let i = 0; i < 600 && !lease?.init; i++) { // vm-run: slow
        await new Promise((r) => setTimeout(r, 100));
        lease = listNetworks(cfg)[0].containers[0] &&
          findLease(cfg, listNetworks(cfg)[0].containers[0].id)?.lease;
      }
      if (!lease?.init) p.kill('SIGTERM');
      assert.ok(lease?.init, 'the container did not start');
      const rulesOf = () => execFileSync('iptables-save', [],
        { encoding: 'utf8' }).includes(`${cfg.chainPrefix}:ctr:`);
      assert.ok(rulesOf());
      p.kill('SIGKILL');
      process.kill(lease.init.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(sweep(cfg, false).filter((s) => s.startsWith('lease')),
        [`lease ${lease.ip} of ${lease.container}`]);
      assert.ok(!rulesOf(), 'port rules survived the sweep');
      assert.deepEqual(listNetworks(cfg)[0].containers, []);
      assert.deepEqual(sweep(cfg, false), [], 'second sweep found more');
    });

    // #region test-idempotent
    test('preparing and attaching twice does not duplicate anything',
      async (t) => {
        const ns = spawn('unshare', ['--net', 'sleep', '100'],
          { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 100));
        const step = networkStep({ config: cfg, publish: ['8080:80',
          '5353:53/udp'].map(parsePublish) });
        // An image without /etc: the step makes the bind mount points.
        const root = tempDir(t);
        const spec = { root: { path: root }, mounts: [],
          linux: { namespaces: [] } };
        const c = { id: randomBytes(8).toString('hex'), spec, pid: 0,
          data: {} } as never as Parameters<NonNullable<
            typeof step.prepare>>[0];
        const snapshot = () => ({
          rules: execFileSync('iptables-save', [], { encoding: 'utf8' })
            .split('\n').filter((l) => l.includes(cfg.chainPrefix)).sort(),
          links: execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })
            .split('\n').filter((l) => l.includes(`master ${
              cfg.defaultBridge}`)).length,
          addrs: spawnSync('nsenter', [`--net=/proc/${ns.pid}/ns/net`, 'ip',
            '-4', '-o', 'addr'], { encoding: 'utf8' }).stdout.split('\n')
            .map((l) => l.split(/\s+/).slice(1, 4).join(' ')),
        });
        // #endregion
        // #region test-idempotent-check
        try {
          await step.prepare!(c);
          c.pid = ns.pid!;
          await step.attach!(c);
          const once = snapshot();
          assert.equal(once.links, 1);
          assert.equal(once.rules.filter((r) => r.includes(':ctr:')).length,
            4, once.rules.join('\n'));
          await step.prepare!(c);
          await step.attach!(c);
          assert.deepEqual(snapshot(), once);
          assert.equal(spec.mounts.length, 3);
          for (const f of ['hosts', 'hostname', 'resolv.conf']) {
            assert.equal(readFileSync(join(root, 'etc', f), 'utf8'), '');
          }
        } finally {
          await step.release!(c);
          await step.release!(c);
          ns.kill();
        }
        assert.equal(snapshot().links, 0);
        assert.deepEqual(listNetworks(cfg)[0].containers, []);
      });
    // #endregion

    test('removing everything restores the host', () => {
      dropConfig(cfg);
      assert.equal(hostState(cfg), initial);
    });
  });
