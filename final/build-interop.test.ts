// An image skiff built is an image other tools take: `skiff save`
// writes a docker-archive that skopeo reads and podman loads and runs,
// and a push to docker-registry on 127.0.0.1 is what skopeo finds
// there. podman gets storage of its own under the test's directory
// (bench/engines.ts: --root, --runroot, cgroupfs, --network none), so
// nothing of the machine's is touched; each tool is skipped, with the
// reason, where it is not installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { podman } from '../bench/engines.ts';
import { isRoot } from '../support/testing.ts';
import {
  type LocalRegistry, REGISTRY, startRegistry, TestEngine,
} from './testing.ts';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`])
  .status === 0;
const why = (cmd: string, pkg = cmd) => !isRoot ? 'needs root'
  : has(cmd) ? false : `no ${cmd} (apt-get install ${pkg})`;
/** skopeo's blob cache for root: a fixed path, removed if we made it. */
const BLOB_CACHE = '/var/lib/containers/cache/blob-info-cache-v1.boltdb';
const hadCache = existsSync(BLOB_CACHE);

let eng: TestEngine;
let archive = '';
let registry: LocalRegistry | undefined;
const ok = (...args: string[]) => eng.ok(...args);

const DOCKERFILE = `FROM busybox
ENV WHO=interop
WORKDIR /app
COPY hello.txt ./
RUN echo "built for $WHO" > /app/built
CMD ["cat", "/app/hello.txt", "/app/built"]
`;

before(() => {
  if (!isRoot) return;
  eng = new TestEngine('skbint');
  const ctx = mkdtempSync(join(eng.dir, 'ctx-'));
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(ctx, 'hello.txt'), 'hello\n');
  ok('build', '-q', '-t', 'interop:1', ctx);
  archive = join(eng.dir, 'interop.tar');
  ok('save', '-o', archive, 'interop:1');
});

after(async () => {
  await registry?.stop();
  if (!hadCache) rmSync(BLOB_CACHE, { force: true });
  if (eng) assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

/** `skopeo ARGS`: its stdout as JSON; fails with its stderr. */
function skopeo(...args: string[]): any {
  const r = spawnSync('skopeo', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('a built image in other tools', () => {
  test('skopeo reads skiff save\'s docker-archive',
    { skip: why('skopeo') }, () => {
      const m = skopeo('inspect', `docker-archive:${archive}`);
      // busybox's layer, then COPY's and RUN's; ENV and WORKDIR none.
      assert.equal(m.Layers.length, 3);
      assert.ok(m.Env.includes('WHO=interop'), m.Env.join(' '));
      const config = skopeo('inspect', '--config',
        `docker-archive:${archive}`);
      assert.deepEqual(config.config.Cmd,
        ['cat', '/app/hello.txt', '/app/built']);
      assert.equal(config.config.WorkingDir, '/app');
    });

  test('podman loads it and runs it', { skip: why('podman') }, async () => {
    const dir = join(eng.dir, 'podman');
    mkdirSync(dir);
    const hybrid = readFileSync('/proc/self/mountinfo', 'utf8')
      .includes(' /sys/fs/cgroup/unified ');
    const e = podman({ dir, env: process.env,
      cgroupParent: eng.cgroupParent }, hybrid);
    assert.equal(typeof e, 'object', `podman: ${e}`);
    if (typeof e === 'string') return;
    try {
      const pm = (...args: string[]) => spawnSync('podman',
        [...e.global, ...args], { encoding: 'utf8', env: e.env });
      const loaded = pm('load', '-i', archive);
      assert.equal(loaded.status, 0, loaded.stderr);
      assert.match(loaded.stdout, /Loaded image.*interop:1/);
      const r = pm('run', '--rm', ...e.runFlags, 'interop:1');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'hello\nbuilt for interop\n');
    } finally {
      await e.stop();
    }
  });

  test('pushed to docker-registry on 127.0.0.1, skopeo finds it there',
    { skip: why('skopeo') || (existsSync(REGISTRY) ? false
      : 'no docker-registry (bash scripts/prereqs.sh)') }, async () => {
      registry = await startRegistry(eng.dir);
      const ref = `${registry.addr}/interop:1`;
      ok('tag', 'interop:1', ref);
      const pushed = ok('push', ref);
      const digest = pushed.match(/digest: (sha256:[0-9a-f]{64})/)?.[1];
      assert.ok(digest, pushed);
      const m = skopeo('inspect', '--tls-verify=false', `docker://${ref}`);
      assert.equal(m.Digest, digest);
      assert.equal(m.Layers.length, 3);
      const local = JSON.parse(ok('image', 'inspect', 'interop:1'))[0];
      const config = skopeo('inspect', '--config', '--tls-verify=false',
        `docker://${ref}`);
      assert.deepEqual(config.rootfs.diff_ids, local.RootFS.Layers);
    });
});
