// Grader for chapter 05, lab "host-door": a container on a bridge opens
// no connection to the host itself.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { defineLab } from '../../../../book/labs.ts';
import {
  dropConfig, httpGet, makeOutside, type Outside, peerServer, startNet,
  testConfig, type TestContainer, waitTcp,
} from '../../testnet.ts';

type NetConfig = ReturnType<typeof testConfig>;

/** `-p HOST:CONTAINER[/udp]` on every address of the host. */
const publish = (hostPort: number, containerPort: number,
  protocol: 'tcp' | 'udp' = 'tcp'): string =>
  `${hostPort}:${containerPort}/${protocol}`;

interface World {
  cfg: NetConfig;
  outside: Outside;
  containers: TestContainer[];
  servers: ChildProcess[];
}

/** A bridge network and an "outside" host of the check's own. */
async function withWorld(check: (w: World) => Promise<void>) {
  const w: World = { cfg: testConfig(), outside: makeOutside(),
    containers: [], servers: [] };
  try {
    await check(w);
  } finally {
    w.servers.forEach((s) => s.kill());
    for (const c of w.containers) await c.destroy().catch(() => {});
    w.outside.remove();
    dropConfig(w.cfg);
  }
}

/** Runs busybox `script` in a container on the bridge; its output. */
async function sh(w: World, script: string) {
  const c = await startNet(w.cfg, ['sh', '-c', script]);
  w.containers.push(c);
  await c.wait();
  return c.output();
}

/** A TCP server on the host, on every address; counts connections. */
async function hostServer(port: number) {
  let connections = 0;
  const srv: Server = createServer((s) => {
    connections++;
    s.end('host\n');
  }).listen(port, '0.0.0.0');
  await new Promise((r) => srv.once('listening', r));
  return { srv, connections: () => connections };
}

let nextPort = 21000 + (process.pid % 4000) * 2;

/** nc's answer, or "refused" when it could not connect in 3 s. */
const NC = (host: string, port: number) =>
  `nc -w 3 ${host} ${port} </dev/null 2>/dev/null || echo refused`;
const GATEWAY = 'ip route | sed -n "s/^default via \\([^ ]*\\).*/\\1/p"';

export default defineLab({
  title: 'Close the host\'s door',
  checks: [
    {
      name: 'a container cannot connect to a service of the host, at ' +
        'the gateway nor at another address of the host',
      check: () => withWorld(async (w) => {
        const port = nextPort++;
        const host = await hostServer(port);
        try {
          const out = await sh(w, `gw=$(${GATEWAY}); ${NC('$gw', port)}; ` +
            NC(w.outside.hostIP, port));
          assert.equal(out, 'refused\nrefused\n', `nc to the gateway, then ` +
            `to ${w.outside.hostIP}, port ${port}: ${JSON.stringify(out)}`);
          assert.equal(host.connections(), 0,
            'the host\'s server took a connection from the container');
        } finally {
          host.srv.close();
        }
      }),
    },
    {
      name: 'the container still reaches the outside, through NAT',
      check: () => withWorld(async (w) => {
        const port = nextPort++;
        w.servers.push(await peerServer({ ns: w.outside.ns }, port));
        const out = await sh(w, NC(w.outside.ip, port));
        assert.equal(out.trim(), w.outside.hostIP, `nc to the outside ` +
          `host: ${JSON.stringify(out)}`);
      }),
    },
    {
      name: 'a published port still answers: the host, at 127.0.0.1, and ' +
        'a container, at the gateway (hairpin)',
      check: () => withWorld(async (w) => {
        const port = nextPort++;
        const srv = await startNet(w.cfg, ['httpd', '-f', '-p', '80', '-h',
          '/'], { hostname: 'pub', publish: [publish(port, 80)] });
        w.containers.push(srv);
        await waitTcp('127.0.0.1', port);
        assert.equal(await httpGet('127.0.0.1', port, '/etc/hostname'),
          'pub\n', 'from the host, at 127.0.0.1');
        const out = await sh(w, `wget -qO- http://$(${GATEWAY}):${port}` +
          '/etc/hostname');
        assert.equal(out, 'pub\n', `a container, at the gateway: ` +
          JSON.stringify(out));
      }),
    },
  ],
});
