// User networks as docker's: the embedded DNS server on 127.0.0.11
// (names, short ids and --network-alias, only between containers of one
// network; other names forwarded), `network connect|disconnect`, --ip,
// --add-host, --dns*, network labels and prefix lengths. The docker CLI
// is the client; one private daemon serves the file. Queries go only to
// the containers' own 127.0.0.11 and to a fake upstream server this
// file runs on the host's loopback.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { overlappingRoute } from '../chapters/05-network/bridge.ts';
import { freeSubnet } from '../chapters/05-network/testnet.ts';
import { isRoot } from '../support/testing.ts';
import { answer, parseQuery, TYPE_A } from './daemon/dns.ts';
import { DOCKER, TestEngine, waitFor } from './testing.ts';

const skip = !isRoot ? 'needs root (sudo npm test)'
  : !DOCKER ? 'no docker CLI on PATH' : false;
let eng: TestEngine;
const docker = (...args: string[]) => eng.docker(args);
const tag = randomBytes(3).toString('hex');
const netA = `dnsa-${tag}`;
const netB = `dnsb-${tag}`;

const ok = (...args: string[]) => eng.dockerOk(...args);

/** Exits non-zero with `pattern` on stderr. */
function fails(pattern: RegExp, ...args: string[]): void {
  const r = docker(...args);
  assert.notEqual(r.status, 0, `docker ${args.join(' ')} succeeded`);
  assert.match(r.stderr, pattern);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const inspect = (ref: string): any => JSON.parse(ok('inspect', ref))[0];

/** `sh -c script` in a throwaway busybox on `network`. */
function inNet(network: string, script: string, ...flags: string[]) {
  return docker('run', '--rm', '--network', network, ...flags, 'busybox',
    'sh', '-c', script);
}

/** `docker ARGS...` without blocking this process's event loop. */
function dockerAsync(...args: string[])
  : Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(DOCKER, args, { env: eng.env });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (status) => resolve({ status, out }));
  });
}

/**
 * The first A record for `name` from 127.0.0.11:53 over TCP (RFC 1035
 * 4.2.2: each message behind its length), asked by a node process that
 * nsenter(1) puts in the network namespace of `pid`.
 */
function askOverTcp(pid: number, name: string): string {
  const script = `
    const q = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0,
      0, 0, 0, 0]), ...process.argv[1].split('.').map((l) =>
      Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
      Buffer.from([0, 0, 1, 0, 1])]);
    const len = Buffer.alloc(2); len.writeUInt16BE(q.length);
    const c = require('net').connect(53, '127.0.0.11',
      () => c.write(Buffer.concat([len, q])));
    c.on('data', (d) => { console.log([...d.subarray(-4)].join('.'));
      c.end(); });`;
  const r = spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`,
    process.execPath, '-e', script, name], { encoding: 'utf8',
    timeout: 20_000 });
  return r.stdout.trim();
}

/** A /16 of 10/8 no route of the host's covers. */
function free16(): string {
  for (;;) {
    const s = freeSubnet().replace(/^(10\.\d+)\..*$/, '$1.0.0/16');
    if (!overlappingRoute(s)) return s;
  }
}

/** The host ends of this engine's veths (its link prefix). */
const links = () => readdirSync('/sys/class/net')
  .filter((l) => l.startsWith(eng.cfg.linkPrefix));

let subnetA = '';
before(async () => {
  if (skip) return;
  eng = new TestEngine('skdns');
  await eng.startDaemon();
  subnetA = free16();
  ok('network', 'create', '--subnet', subnetA, '--label', 'team=dns',
    '--label', 'empty=', netA);
  // skiff's own CLI for one of them.
  eng.ok('network', 'create', '--subnet', freeSubnet(), '--label', 'b=1',
    netB);
});

after(() => {
  if (!eng) return;
  docker('rm', '-f', 'web', 'other', 'late', 'fixed', 'linked');
  docker('network', 'rm', netA, netB);
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('embedded DNS and user networks', { skip }, () => {
  test('names, aliases and short ids resolve on the same network only',
    () => {
      const id = ok('run', '-d', '--name', 'web', '--network', netA,
        '--network-alias', 'www', 'busybox', 'sleep', '600').trim();
      const ip = inspect('web').NetworkSettings.Networks[netA].IPAddress;
      assert.match(ip, /^10\./);
      for (const name of ['web', 'www', id.slice(0, 12), `web.${netA}`]) {
        const r = inNet(netA, `nslookup ${name}`);
        assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, new RegExp(`Address:\\s+${ip}\\b`), name);
      }
      // Over TCP too (busybox's nslookup has no TCP: node, in the
      // container's network namespace), and the owner answers a ping.
      assert.equal(askOverTcp(inspect('web').State.Pid, 'www'), ip);
      assert.equal(inNet(netA, 'ping -c1 -W5 www').status, 0);
      // Reverse lookups name it on its network, as docker's.
      assert.match(inNet(netA, `nslookup ${ip}`).stdout,
        new RegExp(`name = web\\.${netA}`));
      // On a user network, --link's alias is a name for its container.
      assert.match(inNet(netA, 'nslookup db', '--link', 'web:db').stdout,
        new RegExp(`Address:\\s+${ip}\\b`));
      // Another network's containers do not see it: the name is not the
      // server's, so it forwards to --dns (the host's loopback: refused).
      const r = inNet(netB, 'nslookup web', '--dns', '127.0.0.1');
      assert.notEqual(r.status, 0, r.stdout);
      assert.doesNotMatch(r.stdout, new RegExp(ip.replace(/\./g, '\\.')));
      // The default bridge keeps docker's behaviour: no server, no names.
      const def = docker('run', '--rm', '--dns', '127.0.0.1', 'busybox',
        'sh', '-c', 'cat /etc/resolv.conf /etc/hosts; nslookup web ' +
        '127.0.0.11');
      assert.notEqual(def.status, 0);
      assert.doesNotMatch(def.stdout, /127\.0\.0\.11|\bweb\b/);
    });

  test('resolv.conf and hosts: 127.0.0.11, --dns*, --add-host', () => {
    const r = inNet(netA, 'cat /etc/resolv.conf', '--dns-search', 'ex.com',
      '--dns-option', 'rotate', '--dns', '192.0.2.53');
    assert.equal(r.stdout, 'search ex.com\nnameserver 127.0.0.11\n' +
      'options rotate ndots:0\n');
    const def = docker('run', '--rm', '--dns', '192.0.2.53',
      '--dns-search', '.', '--add-host', 'foo:1.2.3.4', '--add-host',
      'gw:host-gateway', 'busybox', 'cat', '/etc/resolv.conf',
      '/etc/hosts');
    assert.equal(def.status, 0, def.stderr);
    assert.match(def.stdout, /^nameserver 192\.0\.2\.53$/m);
    assert.doesNotMatch(def.stdout, /^search/m);
    assert.match(def.stdout, /^1\.2\.3\.4\tfoo$/m);
    const bridgeGw = JSON.parse(ok('network', 'inspect', 'bridge'))[0]
      .IPAM.Config[0].Gateway;
    assert.match(def.stdout, new RegExp(`^${bridgeGw}\\tgw$`, 'm'));
    fails(/invalid/, 'run', '--rm', '--add-host', 'bad:notanip', 'busybox',
      'true');
    // --link: docker's old way, a line in /etc/hosts on the default bridge.
    ok('run', '-d', '--name', 'linked', 'busybox', 'sleep', '600');
    const target = inspect('linked');
    const hosts = ok('run', '--rm', '--link', 'linked:db', 'busybox', 'cat',
      '/etc/hosts');
    assert.match(hosts, new RegExp(`^${target.NetworkSettings.IPAddress}` +
      `\tdb ${target.Id.slice(0, 12)} linked$`, 'm'));
    ok('rm', '-f', 'linked');
  });

  test('other names go to the --dns servers, asked from the host', async () => {
    // A fake upstream on a loopback address of the host's: the daemon
    // asks from its own namespace, where this socket is.
    const upstream = `127.${1 + randomBytes(1)[0] % 250}.53.1`;
    const sock = dgram.createSocket('udp4');
    const asked: string[] = [];
    sock.on('message', (msg, from) => {
      const q = parseQuery(msg)!;
      asked.push(q.name);
      sock.send(answer(q, 0, q.type === TYPE_A ? ['192.0.2.7'] : []),
        from.port, from.address);
    });
    await new Promise<void>((resolve) => sock.bind(53, upstream, resolve));
    try {
      // Asynchronously: this process must answer while docker runs.
      const r = await dockerAsync('run', '--rm', '--network', netA,
        '--dns', upstream, 'busybox', 'nslookup', 'far.example');
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /Address:\s+192\.0\.2\.7/);
      assert.ok(asked.includes('far.example'), asked.join());
    } finally {
      sock.close();
    }
  });

  test('--ip on a user subnet; refused on the default bridge', () => {
    const want = subnetA.replace(/0\.0\/16$/, '7.7');
    ok('run', '-d', '--name', 'fixed', '--network', netA, '--ip', want,
      'busybox', 'sleep', '600');
    const ep = inspect('fixed').NetworkSettings.Networks[netA];
    assert.equal(ep.IPAddress, want);
    assert.equal(ep.IPPrefixLen, 16);
    assert.deepEqual(ep.IPAMConfig, { IPv4Address: want });
    assert.match(ok('exec', 'fixed', 'ip', '-4', 'addr', 'show', 'eth0'),
      new RegExp(`inet ${want.replace(/\./g, '\\.')}/16`));
    fails(/Address already in use/, 'run', '--rm', '--network', netA,
      '--ip', want, 'busybox', 'true');
    fails(/user specified IP address is supported on user defined networks/,
      'run', '--rm', '--ip', '10.1.2.3', 'busybox', 'true');
    ok('rm', '-f', 'fixed');
  });

  test('network connect and disconnect, running and created', () => {
    ok('run', '-d', '--name', 'other', '--network', netB, 'busybox',
      'sleep', '600');
    ok('network', 'connect', '--alias', 'side', netB, 'web');
    const nets = inspect('web').NetworkSettings.Networks;
    assert.deepEqual(Object.keys(nets).sort(), [netA, netB].sort());
    const ipB = nets[netB].IPAddress;
    assert.ok(nets[netB].Aliases.includes('side'));
    assert.match(ok('exec', 'web', 'ip', '-4', 'addr', 'show', 'eth1'),
      new RegExp(`inet ${ipB.replace(/\./g, '\\.')}/24`));
    // netB's containers now find it, by its name and the new alias.
    for (const name of ['web', 'side']) {
      const r = docker('exec', 'other', 'nslookup', name);
      assert.match(r.stdout, new RegExp(`Address:\\s+${ipB}\\b`), name);
    }
    fails(/already exists in network/, 'network', 'connect', netB, 'web');
    eng.ok('network', 'disconnect', netB, 'web'); // skiff's CLI
    assert.deepEqual(Object.keys(inspect('web').NetworkSettings.Networks),
      [netA]);
    assert.notEqual(docker('exec', 'web', 'ip', 'link', 'show', 'eth1')
      .status, 0);
    fails(/is not connected to the network/, 'network', 'disconnect', netB,
      'web');
    // A created container: noted for its start (eth1 after bridge's eth0).
    ok('create', '--name', 'late', 'busybox', 'sleep', '600');
    ok('network', 'connect', netA, 'late');
    const late = inspect('late');
    assert.deepEqual(Object.keys(late.NetworkSettings.Networks).sort(),
      ['bridge', netA].sort());
    assert.deepEqual(late.NetworkSettings.Networks[netA].Aliases,
      [late.Id.slice(0, 12)]);
    ok('start', 'late');
    const r = docker('exec', 'late', 'nslookup', 'web');
    assert.equal(r.status, 0, r.stdout);
    assert.equal(inspect('late').NetworkSettings.IPPrefixLen, 24);
    ok('rm', '-f', 'late', 'other');
  });

  test('the server is there again after a daemon restart', async () => {
    const old = eng.daemonPid();
    process.kill(old, 'SIGKILL');
    await waitFor('the daemon to die', () => !existsSync(`/proc/${old}`));
    await eng.startDaemon();
    const r = inNet(netA, 'nslookup www');
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('labels, prefix lengths; nothing left after removal', () => {
    const n = JSON.parse(ok('network', 'inspect', netA))[0];
    assert.deepEqual(n.Labels, { team: 'dns', empty: '' });
    assert.deepEqual(JSON.parse(ok('network', 'inspect', netB))[0].Labels,
      { b: '1' });
    assert.equal(n.IPAM.Config[0].Subnet, subnetA);
    const web = inspect('web');
    assert.equal(web.NetworkSettings.Networks[netA].IPPrefixLen, 16);
    assert.equal(n.Containers[web.Id].IPv4Address,
      `${web.NetworkSettings.Networks[netA].IPAddress}/16`);
    ok('rm', '-f', 'web');
    // Only the bridges are left of this engine's links: no veth. (A
    // user network's inspect names no bridge, as docker's: sysfs does.)
    assert.deepEqual(links().filter((l) =>
      !existsSync(`/sys/class/net/${l}/bridge`)), []);
    ok('network', 'rm', netA, netB);
  });
});

describe('the DNS wire format (RFC 1035)', () => {
  // A query for "web.a" type A with RD set, as a resolver sends it.
  const query = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
    3, 0x77, 0x65, 0x62, 1, 0x61, 0, 0, 1, 0, 1]);

  test('a query is read; an answer echoes it with one A record each', () => {
    const q = parseQuery(query)!;
    assert.deepEqual([q.id, q.name, q.type, q.recursion],
      [0xabcd, 'web.a', TYPE_A, true]);
    const a = answer(q, 0, ['10.1.2.3', '10.1.2.4']);
    assert.equal(a.readUInt16BE(0), 0xabcd);
    assert.equal(a.readUInt16BE(2), 0x8180); // QR, RD, RA, NOERROR
    assert.equal(a.readUInt16BE(6), 2);
    assert.deepEqual([...a.subarray(query.length, query.length + 2)],
      [0xc0, 0x0c]); // the name: a pointer to the question's
    assert.deepEqual([...a.subarray(-4)], [10, 1, 2, 4]);
    assert.equal(answer(q, 3).readUInt16BE(2) & 0xf, 3); // NXDOMAIN
  });

  test('answers, truncated or compressed questions are not queries', () => {
    const reply = Buffer.from(query);
    reply[2] |= 0x80;
    assert.equal(parseQuery(reply), undefined);
    assert.equal(parseQuery(query.subarray(0, 15)), undefined);
    const pointer = Buffer.concat([query.subarray(0, 12),
      Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    assert.equal(parseQuery(pointer), undefined);
  });
});
