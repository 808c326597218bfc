// Grader for chapter 04, lab "size": rootfsSize(store, id) in overlay.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as overlay from '../../overlay.ts';
import { ImageStore } from '../../store.ts';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const DEMO = 'chapters/04-aufs-overlay/demo.ts';

/** The lab's store, with busybox imported as image "lab" (labs.ts). */
function storeOf(ctx: LabContext): string {
  return ctx.image()[1];
}

type SizeOf = (store: ImageStore, id: string) => number;

/** overlay.ts's rootfsSize, once it exists. */
function rootfsSize(): SizeOf {
  const fn = (overlay as unknown as Record<string, unknown>).rootfsSize;
  assert.equal(typeof fn, 'function',
    'overlay.ts exports no function rootfsSize(store, id) yet');
  return fn as SizeOf;
}

/** Runs `cmd` in a new container of image "lab"; its own bytes after. */
function sizeAfter(ctx: LabContext, ...cmd: string[]): number {
  const size = rootfsSize();
  const name = ctx.unique('size');
  const r = ctx.run(DEMO, ['--root', storeOf(ctx), 'run', '--cgroup-parent',
    ctx.cgroupParent, '--name', name, 'busybox', ...cmd]);
  assert.equal(r.status, 0, `run ${cmd.join(' ')}: ${outcome(r)}`);
  return size(new ImageStore(storeOf(ctx)), name);
}

const kB = (n: number) => `${(n / 1e3).toFixed(1)}kB`;

export default defineLab({
  title: 'What does a container cost?',
  checks: [
    {
      name: 'a container that wrote nothing costs 0 bytes',
      check(ctx) {
        const n = sizeAfter(ctx, 'true');
        assert.equal(n, 0, `rootfsSize after true: ${n}`);
      },
    },
    {
      name: 'a 1 MiB file written: 1 MiB',
      check(ctx) {
        const n = sizeAfter(ctx, 'dd', 'if=/dev/zero', 'of=/big',
          'bs=1024', 'count=1024');
        assert.ok(n >= 2 ** 20 && n <= 2 ** 20 + 4096,
          `1 MiB written, rootfsSize says ${kB(n)}`);
      },
    },
    {
      name: 'touch /bin/busybox costs the whole file (copy-up)',
      check(ctx) {
        const n = sizeAfter(ctx, 'touch', '/bin/busybox');
        assert.ok(n >= 1e6, `busybox is about 2 MB, all of it copied ` +
          `up; rootfsSize says ${kB(n)}`);
      },
    },
    {
      name: 'rm /etc/passwd costs nothing (a whiteout)',
      check(ctx) {
        const n = sizeAfter(ctx, 'rm', '/etc/passwd');
        assert.ok(n < 1e3, `a whiteout has no content: ${kB(n)}`);
      },
    },
    {
      name: 'a file with two hard links counts once',
      check(ctx) {
        const n = sizeAfter(ctx, 'sh', '-c', 'dd if=/dev/zero of=/a ' +
          'bs=1024 count=512 2>/dev/null && ln /a /b');
        assert.ok(n >= 2 ** 19 && n < 2 ** 19 + 4096,
          `512 KiB, linked twice, is still 524.3kB: ${kB(n)}`);
      },
    },
    {
      name: 'a container that does not exist: an error naming it',
      check(ctx) {
        const size = rootfsSize();
        assert.throws(() => size(new ImageStore(storeOf(ctx)),
          'no-such-container'), /no-such-container/);
      },
    },
  ],
});
