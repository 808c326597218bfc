// Grader for chapter 05, lab "hold-port": the engine binds a published
// host port for as long as its container runs.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { defineLab } from '../../../../book/labs.ts';
import {
  dropConfig, httpGet, startNet, testConfig, type TestContainer, waitTcp,
} from '../../testnet.ts';

type NetConfig = ReturnType<typeof testConfig>;

/** `-p HOST:CONTAINER[/udp]` on every address of the host. */
const publish = (hostPort: number, containerPort: number,
  protocol: 'tcp' | 'udp' = 'tcp'): string =>
  `${hostPort}:${containerPort}/${protocol}`;

/** A bridge network of the check's own, removed after it. */
async function withNet(check: (cfg: NetConfig,
  track: (c: TestContainer) => TestContainer) => Promise<void>) {
  const cfg = testConfig();
  const live: TestContainer[] = [];
  try {
    await check(cfg, (c) => { live.push(c); return c; });
  } finally {
    for (const c of live) await c.destroy().catch(() => {});
    dropConfig(cfg);
  }
}

/** "free" if a program of the host can bind the port now, else why not. */
async function bindOnHost(port: number, proto: 'tcp' | 'udp')
  : Promise<string> {
  const s = proto === 'tcp' ? createServer() : createSocket('udp4');
  return new Promise((done) => {
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? ''));
    const bound = () => s.close(() => done('free'));
    if ('listen' in s) s.listen(port, '0.0.0.0', bound);
    else s.bind(port, '0.0.0.0', bound);
  });
}

let nextPort = 23000 + (process.pid % 4000) * 2;
const SLEEP = ['sleep', '1000'];

export default defineLab({
  title: 'Hold the port',
  checks: [
    {
      name: 'while the container runs, a program of the host cannot ' +
        'bind its published ports (tcp, udp): EADDRINUSE',
      check: () => withNet(async (cfg, track) => {
        const [tcp, udp] = [nextPort++, nextPort++];
        track(await startNet(cfg, SLEEP,
          { publish: [publish(tcp, 80), publish(udp, 53, 'udp')] }));
        assert.equal(await bindOnHost(tcp, 'tcp'), 'EADDRINUSE',
          `the host bound 0.0.0.0:${tcp}/tcp, published by a container`);
        assert.equal(await bindOnHost(udp, 'udp'), 'EADDRINUSE',
          `the host bound 0.0.0.0:${udp}/udp, published by a container`);
      }),
    },
    {
      name: 'the published port still reaches the container',
      check: () => withNet(async (cfg, track) => {
        const port = nextPort++;
        track(await startNet(cfg, ['httpd', '-f', '-p', '80', '-h', '/'],
          { hostname: 'pub', publish: [publish(port, 80)] }));
        await waitTcp('127.0.0.1', port);
        assert.equal(await httpGet('127.0.0.1', port, '/etc/hostname'),
          'pub\n', `127.0.0.1:${port} did not answer with the container`);
      }),
    },
    {
      name: 'once the container is gone, the port is free again',
      check: () => withNet(async (cfg) => {
        const port = nextPort++;
        const c = await startNet(cfg, SLEEP, { publish: [publish(port, 80)] });
        await c.destroy();
        assert.equal(await bindOnHost(port, 'tcp'), 'free',
          `port ${port} stayed taken after its container`);
        const again = await startNet(cfg, SLEEP,
          { publish: [publish(port, 80)] });
        await again.destroy();
      }),
    },
  ],
});
