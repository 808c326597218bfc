// Grader for chapter 02, lab "rro": a recursively read-only bind mount.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync, mkdirSync, readFileSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { defaultSpec } from '../../defaults.ts';
import { startContainer } from '../../start.ts';
import { defineLab, type LabContext } from '../../../../book/labs.ts';

/** A host directory anyone may write, with a tmpfs mounted below it. */
function source(ctx: LabContext): string {
  const src = join(ctx.tempDir(), 'data');
  mkdirSync(join(src, 'cache'), { recursive: true });
  // Writable by the container's root, an unprivileged uid on the host:
  // a refusal must come from the mount, not from the permissions.
  chmodSync(src, 0o777);
  writeFileSync(join(src, 'top.txt'), 'top\n');
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=1777',
    'labcache', join(src, 'cache')]);
  assert.equal(m.status, 0, `mount tmpfs: ${m.stderr}`);
  writeFileSync(join(src, 'cache/below.txt'), 'below\n');
  return src;
}

/** Runs `script` with `src` bound on /data; what it printed. */
async function inContainer(ctx: LabContext, src: string, options: string[],
  script: string): Promise<string> {
  const spec = defaultSpec({ rootfs: ctx.rootfs(),
    args: ['/bin/sh', '-c', script],
    mounts: [{ destination: '/data', source: src, type: 'bind', options }] });
  const c = await startContainer(spec, { id: ctx.unique('rro'),
    stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const closed = [c.stdout!, c.stderr!].map((s) => new Promise((done) => {
    s.on('data', (d) => { out += d; });
    s.on('close', done);
  }));
  try {
    await c.wait();
    await Promise.all(closed);
  } finally {
    await c.destroy();
  }
  return out;
}

/** Each path: "ok" when touch worked, else its error. */
const TOUCH = (paths: string[]) => paths.map((p) =>
  `touch ${p} 2>&1 | sed 's/.*: //' | grep . || echo ok`).join('; ');

function hostMount(path: string): string {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .find((l) => l.split(' ')[4] === path) ?? '';
}

export default defineLab({
  title: 'Read-only all the way down',
  checks: [
    {
      name: 'rbind,rro: /data and the mount below it are read-only, ' +
        'and readable',
      async check(ctx) {
        const src = source(ctx);
        const out = await inContainer(ctx, src, ['rbind', 'rro'],
          `${TOUCH(['/data/x', '/data/cache/x'])}; cat /data/top.txt ` +
          '/data/cache/below.txt');
        assert.equal(out, 'Read-only file system\nRead-only file ' +
          'system\ntop\nbelow\n', `touch /data/x, touch /data/cache/x, ` +
          `then cat: ${JSON.stringify(out)}`);
      },
    },
    {
      name: 'the host still writes there, its mounts unchanged',
      async check(ctx) {
        const src = source(ctx);
        const before = hostMount(join(src, 'cache'));
        await inContainer(ctx, src, ['rbind', 'rro'], 'true');
        assert.equal(hostMount(join(src, 'cache')), before,
          'the host\'s tmpfs below the source changed');
        for (const f of ['host.txt', 'cache/host.txt']) {
          writeFileSync(join(src, f), 'host\n');
          unlinkSync(join(src, f));
        }
      },
    },
    {
      name: 'ro alone stays as it was; other mounts stay writable',
      async check(ctx) {
        const src = source(ctx);
        const out = await inContainer(ctx, src, ['rbind', 'ro'],
          TOUCH(['/data/x', '/data/cache/x', '/tmp/x']));
        assert.equal(out, 'Read-only file system\nok\nok\n',
          `ro: touch /data/x, /data/cache/x, /tmp/x: ` +
          JSON.stringify(out));
      },
    },
  ],
});
