// Grader for the engine's chapter 11, lab "port": `skiff port`.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { defineLab, type LabContext } from '../../../../../book/labs.ts';
import type { TestEngine } from '../../../../testing.ts';
import { engineOf } from '../../../lab-engine.ts';

/** A TCP port of loopback that nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

const ports = new WeakMap<TestEngine, [number, number]>();

/**
 * The lab's engine with `web` publishing 80 on 127.0.0.1 and 443 on
 * every address, and `quiet`, which publishes nothing.
 */
async function engine(ctx: LabContext): Promise<[TestEngine, number, number]> {
  const e = engineOf(ctx);
  if (!ports.has(e)) {
    const [a, b] = [await freePort(), await freePort()];
    e.ok('run', '-d', '--name', 'web', '-p', `127.0.0.1:${a}:80`, '-p',
      `${b}:443`, 'busybox', 'sleep', '600');
    e.ok('run', '-d', '--name', 'quiet', 'busybox', 'sleep', '600');
    ports.set(e, [a, b]);
  }
  return [e, ...ports.get(e)!];
}

function port(e: TestEngine, ...args: string[]): string {
  const r = e.sk(['port', ...args]);
  assert.equal(r.status, 0, `port ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

export default defineLab({
  title: 'Which host port leads where',
  checks: [
    {
      name: 'port CONTAINER: every binding, one a line, sorted',
      async check(ctx) {
        const [e, a, b] = await engine(ctx);
        assert.equal(port(e, 'web'),
          `443/tcp -> 0.0.0.0:${b}\n80/tcp -> 127.0.0.1:${a}\n`,
          'port web');
      },
    },
    {
      name: 'port CONTAINER PORT[/PROTO]: that port\'s host address',
      async check(ctx) {
        const [e, a, b] = await engine(ctx);
        assert.equal(port(e, 'web', '80'), `127.0.0.1:${a}\n`, 'port web 80');
        assert.equal(port(e, 'web', '80/tcp'), `127.0.0.1:${a}\n`,
          'port web 80/tcp');
        assert.equal(port(e, 'web', '443'), `0.0.0.0:${b}\n`,
          'port web 443');
      },
    },
    {
      name: 'no port published: nothing, or an error naming the port',
      async check(ctx) {
        const [e] = await engine(ctx);
        assert.equal(port(e, 'quiet'), '', 'port quiet');
        const r = e.sk(['port', 'web', '81']);
        assert.notEqual(r.status, 0, 'port web 81 succeeded');
        assert.equal(r.stdout, '', `port web 81 printed ${r.stdout}`);
        assert.match(r.stderr, /81\/tcp/, `port web 81: ${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1,
          `port web 81: one line: ${r.stderr}`);
        const gone = e.sk(['port', 'nobody']);
        assert.notEqual(gone.status, 0, 'port nobody succeeded');
        assert.match(gone.stderr, /No such container: nobody/,
          `port nobody: ${gone.stderr}`);
      },
    },
  ],
});
