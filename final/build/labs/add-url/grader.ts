// Grader for the build page's lab "add-url": ADD's cache key counts
// the bytes a URL sends, not the URL's text.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { defineLab, type LabContext } from '../../../../book/labs.ts';
import type { TestEngine } from '../../../testing.ts';
import { engineOf } from '../../../book/lab-engine.ts';

/** A file server on 127.0.0.1: what it sends, and the GETs it saw. */
interface Server { body: string; status: number; gets: number;
  url: string }

const servers = new WeakMap<LabContext, Server>();

async function server(ctx: LabContext): Promise<Server> {
  let s = servers.get(ctx);
  if (s) return s;
  const made: Server = { body: 'version 1\n', status: 200, gets: 0,
    url: '' };
  const srv = http.createServer((req, res) => {
    made.gets++;
    res.writeHead(made.status).end(made.status === 200 ? made.body : '');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  made.url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/motd`;
  ctx.cleanup(() => { srv.close(); });
  servers.set(ctx, made);
  return made;
}

/** A context whose Dockerfile ADDs the server's file and reads it. */
function contextFor(ctx: LabContext, s: Server): string {
  const dir = mkdtempSync(join(ctx.tempDir(), 'ctx-'));
  writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\n` +
    `ADD ${s.url} /etc/motd\nRUN cp /etc/motd /seen\n` +
    'CMD ["cat", "/seen"]\n');
  return dir;
}

/** `skiff build -t site DIR` without blocking this process's server. */
async function build(e: TestEngine, dir: string): Promise<string> {
  const r = await e.skAsync(['build', '-t', 'site', dir]);
  assert.equal(r.status, 0, `build: ${r.stderr.trim()}`);
  return r.stdout;
}

const cached = (out: string) => out.match(/Using cache/g)?.length ?? 0;

export default defineLab({
  title: 'A cache that follows the download',
  checks: [
    {
      name: 'the same bytes: a rebuild uses the cache, and still fetches',
      async check(ctx) {
        const [e, s] = [engineOf(ctx), await server(ctx)];
        const dir = contextFor(ctx, s);
        await build(e, dir);
        const before = s.gets;
        const again = await build(e, dir);
        assert.equal(cached(again), 3, `ADD, RUN and CMD from the cache:\n${
          again}`);
        assert.equal(s.gets, before + 1, 'the rebuild fetched the URL ' +
          `${s.gets - before} time(s), not once`);
      },
    },
    {
      name: 'other bytes: the ADD and the steps after it run again',
      async check(ctx) {
        const [e, s] = [engineOf(ctx), await server(ctx)];
        const dir = contextFor(ctx, s);
        await build(e, dir);
        s.body = 'version 2\n';
        const out = await build(e, dir);
        assert.equal(cached(out), 0, `the changed file came from the ` +
          `cache:\n${out}`);
        assert.equal(e.ok('run', '--rm', 'site'), 'version 2\n',
          'the image\'s file');
        s.body = 'version 1\n';
      },
    },
    {
      name: 'a 404 fails the build naming the URL, even once cached',
      async check(ctx) {
        const [e, s] = [engineOf(ctx), await server(ctx)];
        const dir = contextFor(ctx, s);
        await build(e, dir);
        s.status = 404;
        try {
          const r = await e.skAsync(['build', dir]);
          assert.notEqual(r.status, 0, `the build succeeded:\n${r.stdout}`);
          assert.ok(r.stderr.includes(s.url), `stderr: ${r.stderr}`);
        } finally {
          s.status = 200;
        }
      },
    },
  ],
});
