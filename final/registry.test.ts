// Pull and push against real registries on loopback: Debian's
// docker-registry (the distribution project's registry), started here
// on a free port with its storage in a temp dir, and a tiny registry in
// this file that asks for a token and can serve tampered blobs. Docker
// Hub stands for a closed port on 127.0.0.1: nothing leaves the host.
import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { goArch } from '../chapters/04-aufs-overlay/archive.ts';
import { isRoot } from '../support/testing.ts';
import {
  DOCKER, REGISTRY, startRegistry as startLocalRegistry, TestEngine,
} from './testing.ts';

const skip = !isRoot ? 'needs root (sudo npm test)'
  : !existsSync(REGISTRY) ? 'no docker-registry (bash scripts/prereqs.sh)'
    : false;
let eng: TestEngine;
let dir = '';
let registry: ChildProcess | undefined;
let reg = ''; // "127.0.0.1:PORT" of docker-registry
const root = () => eng.root;
const sk = (...args: string[]) => eng.sk(args);
/** sk() without blocking: for a registry served by this process. */
const skAsync = (...args: string[]) => eng.skAsync(args);
const ok = (...args: string[]) => eng.ok(...args);

/** Exit 125 and one line on stderr, which is returned. */
function fails(...args: string[]): string {
  const r = sk(...args);
  assert.equal(r.status, 125, `skiff ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  return r.stderr.trim();
}

/** What a failed pull must leave as it was. */
function storeState(): string {
  return JSON.stringify({
    layers: readdirSync(join(root(), 'layers')).sort(),
    images: readdirSync(join(root(), 'images')).sort(),
    tmp: readdirSync(join(root(), 'tmp')),
    tags: ok('images', '--format', '{{.Repository}}:{{.Tag}}'),
  });
}

async function startRegistry(): Promise<void> {
  const r = await startLocalRegistry(dir);
  reg = r.addr;
  registry = r.process;
}

before(async () => {
  if (skip) return;
  eng = new TestEngine('skreg');
  dir = eng.dir;
  await startRegistry();
  await eng.startDaemon();
});

after(async () => {
  if (!eng) return;
  const stopped = new Promise<void>((resolve) => {
    if (!registry || registry.exitCode !== null) return resolve();
    registry.once('exit', () => resolve());
    registry.kill('SIGTERM');
  });
  const left = eng.stop();
  await stopped;
  assert.deepEqual(left, [], 'mounts left behind');
});

describe('registries', { skip }, () => {
  // #region test-push-pull
  test('push busybox, rmi, pull it back, run pulls what is missing', () => {
    const id = ok('images', '-q', '--no-trunc', 'busybox').trim();
    ok('tag', 'busybox', `${reg}/busybox`);
    assert.match(ok('push', `${reg}/busybox`),
      /Pushed\nlatest: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
    assert.match(ok('push', `${reg}/busybox`), /Layer already exists/);
    ok('rmi', `${reg}/busybox`, 'busybox');
    assert.deepEqual(readdirSync(join(root(), 'layers')), []);
    const r = sk('run', '--rm', '--network', 'none', `${reg}/busybox`,
      'echo', 'hi');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.match(r.stderr, new RegExp(`^Unable to find image '${reg}/` +
      'busybox:latest\' locally\n(.*\n)*Status: Downloaded newer image'));
    // The same config bytes, so the same image ID: content addressing.
    assert.equal(ok('images', '-q', '--no-trunc', `${reg}/busybox`).trim(),
      id);
    assert.match(ok('pull', `${reg}/busybox`),
      /Already exists\n(.*\n)*Status: Image is up to date for /);
    ok('tag', `${reg}/busybox`, 'busybox');
  });
  // #endregion

  test('push and pull on the event bus, named as dockerd names them', () => {
    const from = (Date.now() / 1000).toFixed(3);
    ok('tag', 'busybox', `${reg}/evbox:v1`);
    ok('push', `${reg}/evbox:v1`);
    ok('rmi', `${reg}/evbox:v1`);
    ok('pull', `${reg}/evbox:v1`);
    ok('rmi', `${reg}/evbox:v1`);
    const said = ok('events', '--since', from, '--until',
      (Date.now() / 1000).toFixed(3), '--filter', 'event=push', '--filter',
      'event=pull', '--format', '{{.Action}} {{.Actor.ID}} ' +
      '{{.Actor.Attributes.name}}');
    const ref = `${reg}/evbox:v1`;
    assert.equal(said, `push ${ref} ${ref}\npull ${ref} ${ref}\n`);
  });

  test('a missing repository or tag: one line, 125, nothing left', () => {
    const before = storeState();
    assert.equal(fails('pull', `${reg}/nope`),
      `skiff: pull ${reg}/nope:latest: manifest unknown`);
    assert.equal(fails('pull', `${reg}/busybox:v9`),
      `skiff: pull ${reg}/busybox:v9: manifest unknown`);
    assert.match(fails('pull', 'busybx'),
      /^skiff: pull busybx:latest: connect to 127\.0\.0\.1:\d+: /);
    assert.match(fails('push', 'nosuch:1'), /does not exist locally/);
    const r = sk('run', '--rm', `${reg}/nope`);
    assert.equal(r.status, 125);
    assert.equal(r.stderr, `Unable to find image '${reg}/nope:latest' ` +
      `locally\nskiff: pull ${reg}/nope:latest: manifest unknown\n`);
    assert.equal(storeState(), before);
    assert.equal(ok('ps', '-aq'), '');
  });

  test('a token, an index, gzip layers; a tampered blob is refused',
    async () => {
      const tiny = await tinyRegistry();
      try {
        const r = await skAsync('pull', `${tiny.host}/tiny`);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /Pull complete\nDigest: sha256:/);
        assert.deepEqual(tiny.scopes, ['repository:tiny:pull']);
        const cfg = JSON.parse(ok('image', 'inspect', `${tiny.host}/tiny`));
        assert.deepEqual(cfg[0].Config.Cmd, ['/hello']);
        const before = storeState();
        const bad = await skAsync('pull', `${tiny.host}/bad`);
        assert.equal(bad.status, 125);
        assert.match(bad.stderr, new RegExp(`^skiff: pull ${tiny.host}/` +
          'bad:latest: blob sha256:[0-9a-f]{64}: digest mismatch\n$'));
        assert.equal(storeState(), before);
      } finally {
        await tiny.close();
      }
    });

  test('docker\'s CLI pushes and pulls through skiff\'s daemon',
    { skip: !DOCKER && 'no docker CLI on PATH' }, () => {
      const docker = (...args: string[]) => eng.docker(args);
      assert.equal(docker('tag', 'busybox', `${reg}/dk:1`).status, 0);
      const pushed = docker('push', `${reg}/dk:1`);
      assert.match(pushed.stdout, /1: digest: sha256:/, pushed.stderr);
      assert.equal(docker('rmi', `${reg}/dk:1`).status, 0);
      const pulled = docker('pull', `${reg}/dk:1`);
      assert.equal(pulled.status, 0, pulled.stderr);
      assert.match(pulled.stdout, /Status: Downloaded newer image for /);
    });
});

const sha = (b: Buffer | string) =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A one-layer image: its gzipped layer, config and manifest. */
function tinyImage(file: string) {
  const src = mkdtempSync(join(dir, 'src-'));
  mkdirSync(join(src, 'etc'));
  writeFileSync(join(src, 'etc', file), `${file}\n`);
  const tar = spawnSync('tar', ['-C', src, '--owner=0', '--group=0',
    '-cf', '-', '.']).stdout;
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: goArch(),
    os: 'linux', config: { Cmd: ['/hello'] },
    rootfs: { type: 'layers', diff_ids: [sha(tar)] } }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json',
      digest: sha(config), size: config.length },
    layers: [{ digest: sha(layer), size: layer.length, mediaType:
      'application/vnd.docker.image.rootfs.diff.tar.gzip' }] }));
  return { layer, config, manifest };
}

/**
 * A registry of two repositories behind a Bearer challenge: "tiny" (an
 * OCI index whose linux entry for this arch is a docker manifest) and
 * "bad", whose layer blob is not the bytes its digest names.
 */
async function tinyRegistry() {
  const good = tinyImage('hello');
  const bad = tinyImage('other');
  const ociIndex = 'application/vnd.oci.image.index.v1+json';
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2,
    mediaType: ociIndex, manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: sha('elsewhere'), size: 9,
        platform: { architecture: 'none', os: 'linux' } },
      { mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        digest: sha(good.manifest), size: good.manifest.length,
        platform: { architecture: goArch(), os: 'linux' } }] }));
  const files = new Map<string, [string, Buffer]>();
  const blob = (repo: string, b: Buffer, as = b) =>
    files.set(`/v2/${repo}/blobs/${sha(b)}`, ['application/octet-stream',
      as]);
  files.set('/v2/tiny/manifests/latest', [ociIndex, index]);
  files.set(`/v2/tiny/manifests/${sha(good.manifest)}`, [
    'application/vnd.docker.distribution.manifest.v2+json',
    good.manifest]);
  blob('tiny', good.config);
  blob('tiny', good.layer);
  files.set('/v2/bad/manifests/latest', [
    'application/vnd.docker.distribution.manifest.v2+json',
    bad.manifest]);
  blob('bad', bad.config);
  blob('bad', bad.layer, gzipSync(Buffer.alloc(10240)));
  const scopes: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      scopes.push(url.searchParams.get('scope') ?? '');
      return res.end(JSON.stringify({ token: 't0k' }));
    }
    if (req.headers.authorization !== 'Bearer t0k') {
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${
        req.headers.host}/token",service="tiny"` });
      return res.end();
    }
    const f = files.get(url.pathname);
    if (!f) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      return res.end('{"errors":[{"code":"MANIFEST_UNKNOWN",' +
        '"message":"manifest unknown"}]}');
    }
    res.writeHead(200, { 'Content-Type': f[0] });
    res.end(f[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { host: `127.0.0.1:${port}`, scopes,
    close: () => new Promise((r) => server.close(r)) };
}
