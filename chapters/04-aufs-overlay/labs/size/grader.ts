// Grader for chapter 04, lab "size": demo.ts size <container>.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const DEMO = 'chapters/04-aufs-overlay/demo.ts';

/** A store with the busybox rootfs imported as image "lab". */
function storeWithImage(ctx: LabContext): string {
  const root = join(ctx.tempDir(), 'store');
  const tar = join(ctx.tempDir(), 'busybox.tar');
  const t = spawnSync('tar', ['-C', ctx.rootfs(), '-cf', tar, '.']);
  assert.equal(t.status, 0, `tar: ${t.stderr}`);
  const r = ctx.run(DEMO, ['--root', root, 'import', tar, 'lab']);
  assert.equal(r.status, 0, `demo.ts import: ${outcome(r)}`);
  return root;
}

const stores = new WeakMap<LabContext, string>();
function demo(ctx: LabContext, ...args: string[]) {
  if (!stores.has(ctx)) stores.set(ctx, storeWithImage(ctx));
  return ctx.run(DEMO, ['--root', stores.get(ctx)!, ...args]);
}

const UNIT = { kB: 1e3, MB: 1e6 } as const;
const SIZE = /^(\d+\.\d)(kB|MB) \(virtual (\d+\.\d)(kB|MB)\)$/;

/** Runs `cmd` in a new container, then `size` on it. */
function sizeAfter(ctx: LabContext, ...cmd: string[]) {
  const name = ctx.unique('size');
  const r = demo(ctx, 'run', '--name', name, 'lab', ...cmd);
  assert.equal(r.status, 0, `run ${cmd.join(' ')}: ${outcome(r)}`);
  const s = demo(ctx, 'size', name);
  const line = s.stdout.trim();
  const m = SIZE.exec(line);
  assert.ok(m, `size ${name} after ${cmd.join(' ')}: expected ` +
    `"<own> (virtual <all>)" like "1.0MB (virtual 3.2MB)", got ` +
    `${JSON.stringify(line)} (${outcome(s)})`);
  return { own: Number(m[1]) * UNIT[m[2] as 'kB'],
    all: Number(m[3]) * UNIT[m[4] as 'kB'], line };
}

function imageSize(ctx: LabContext): string {
  const r = demo(ctx, 'images');
  const row = r.stdout.split('\n').find((l) => l.startsWith('lab '));
  return row?.trim().split(/\s+/).at(-1) ?? '?';
}

export default defineLab({
  title: 'What does a container cost?',
  checks: [
    {
      name: 'a container that wrote nothing: 0.0kB, virtual = the image',
      check(ctx) {
        const s = sizeAfter(ctx, 'true');
        assert.equal(s.line, `0.0kB (virtual ${imageSize(ctx)})`);
      },
    },
    {
      name: 'a 1 MiB file written: 1.0MB, and the image on top',
      check(ctx) {
        const s = sizeAfter(ctx, 'dd', 'if=/dev/zero', 'of=/big',
          'bs=1024', 'count=1024');
        assert.ok(s.own >= 1.0e6 && s.own <= 1.1e6, `own: ${s.line}`);
        const image = Number.parseFloat(imageSize(ctx)) *
          (imageSize(ctx).endsWith('MB') ? 1e6 : 1e3);
        assert.ok(Math.abs(s.all - s.own - image) <= 0.15e6,
          `virtual should be own + image (${imageSize(ctx)}): ${s.line}`);
      },
    },
    {
      name: 'touch /bin/busybox costs the whole file (copy-up)',
      check(ctx) {
        const s = sizeAfter(ctx, 'touch', '/bin/busybox');
        assert.ok(s.own >= 1.0e6, `busybox is about 2 MB, all of it ` +
          `copied up: ${s.line}`);
      },
    },
    {
      name: 'rm /etc/passwd costs nothing (a whiteout)',
      check(ctx) {
        const s = sizeAfter(ctx, 'rm', '/etc/passwd');
        assert.ok(s.own < 1e3, `a whiteout has no content: ${s.line}`);
      },
    },
    {
      name: 'a file with two hard links counts once',
      check(ctx) {
        const s = sizeAfter(ctx, 'sh', '-c', 'dd if=/dev/zero of=/a ' +
          'bs=1024 count=512 2>/dev/null && ln /a /b');
        assert.ok(s.own >= 0.5e6 && s.own < 0.6e6,
          `512 KiB, linked twice, is still 524.3kB: ${s.line}`);
      },
    },
    {
      name: 'size of a container that does not exist: exit 125, one line',
      check(ctx) {
        const r = demo(ctx, 'size', 'no-such-container');
        assert.equal(r.status, 125, outcome(r));
        const lines = r.stderr.trim().split('\n');
        assert.ok(lines.length === 1 &&
          lines[0].includes('no-such-container'),
          `one line naming the container: ${r.stderr.trim()}`);
      },
    },
  ],
});
