// Benchmark: TCP throughput from the host into a container, through the
// bridge (to the container's address), through a published port (DNAT),
// and, for scale, over the host's loopback: one run, same sender, same
// receiver program, reported as ratios.
//
//   sudo npx tsx bench/net.ts [megabytes] [rounds]
//
// The receiver is a Node process that counts bytes and answers the
// total; the sender writes 1 MiB buffers. It uses a bridge, subnet and
// chains of its own, like the tests, and removes them at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dropConfig, netRootfs, startNet, testConfig } from
  '../chapters/05-network/testnet.ts';
import { listNetworks } from '../chapters/05-network/networks.ts';

const MB = Number(process.argv[2] ?? 400);
const ROUNDS = Number(process.argv[3] ?? 3);
const SINK_PORT = 5001;

const SINK = `
  let n = 0;
  require('net').createServer((s) => {
    n = 0;
    s.on('data', (d) => { n += d.length; });
    s.on('end', () => s.end(String(n)));
  }).listen(Number(process.argv[1]), '0.0.0.0', function () {
    console.log(this.address().port);
  });`;

/**
 * The receiver, in the host's or in a container's network namespace;
 * its port (on the host, any free one: the bench must not need 5001).
 */
async function sink(netnsPid?: number): Promise<[ChildProcess, number]> {
  const node = [process.execPath, '-e', SINK, String(netnsPid ? SINK_PORT
    : 0)];
  const [cmd, ...args] = netnsPid
    ? ['nsenter', `--net=/proc/${netnsPid}/ns/net`, ...node] : node;
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((r) =>
    child.stdout!.once('data', (d) => r(Number(String(d).trim()))));
  return [child, port];
}

/** Sends MB megabytes to host:port; MB/s from connect to the answer. */
function send(host: string, port: number): Promise<number> {
  const chunk = Buffer.alloc(1 << 20, 7);
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const s = connect({ host, port, noDelay: true }, () => {
      let left = MB;
      const pump = () => {
        while (left > 0) {
          left--;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    let answer = '';
    s.on('data', (d) => { answer += d; });
    s.on('end', () => {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (Number(answer) !== MB << 20) {
        return rej(new Error(`${host}:${port}: got ${answer} bytes`));
      }
      res(MB / secs);
    });
    s.on('error', rej);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const cfg = testConfig();
  const children: ChildProcess[] = [];
  try {
    // `-p 5001`: the engine picks a free host port.
    const c = await startNet(cfg, ['sleep', '3600'],
      { publish: [`${SINK_PORT}`] });
    const [ep] = listNetworks(cfg)[0].containers;
    const hostPort = ep.ports[0].hostPort;
    const gateway = listNetworks(cfg)[0].gateway!;
    const [inside] = await sink(c.pid);
    const [onHost, hostSinkPort] = await sink();
    children.push(inside, onHost);
    const paths: [string, string, number][] = [
      ['host loopback', '127.0.0.1', hostSinkPort],
      ['bridge (container IP)', ep.ip, SINK_PORT],
      ['-p via 127.0.0.1', '127.0.0.1', hostPort],
      ['-p via gateway IP', gateway, hostPort],
    ];
    const results = new Map<string, number[]>();
    await send(ep.ip, SINK_PORT); // warm up: ARP, conntrack, JIT
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, host, port] of paths) {
        results.set(name, [...(results.get(name) ?? []),
          await send(host, port)]);
      }
    }
    const bridge = median(results.get('bridge (container IP)')!);
    console.log(`TCP, ${MB} MB per transfer, median of ${ROUNDS}:`);
    for (const [name] of paths) {
      const m = median(results.get(name)!);
      console.log(`  ${name.padEnd(24)} ${m.toFixed(0).padStart(6)} MB/s  ` +
        `${(m / bridge).toFixed(2)}x bridge`);
    }
    await c.destroy();
  } finally {
    for (const ch of children) ch.kill();
    dropConfig(cfg);
  }
}

netRootfs();
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
