import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync, mkdirSync, readFileSync, readdirSync, statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  needsRoot, runTs, tempDir, uniqueName,
} from '../../support/testing.ts';
import { loadImages, saveImages } from './archive.ts';
import { craftTar, testStore } from './fixtures.ts';
import { createRootfs, mountRootfs } from './overlay.ts';
import { hexOf, sha256 } from './store.ts';

const RUN = 'chapters/01-chroot/run.ts';

function skopeo(...args: string[]): Record<string, unknown> {
  const r = spawnSync('skopeo', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
const hasPodman = spawnSync('podman', ['--version']).status === 0;

describe('chapter 04: saved images other tools can read', needsRoot, () => {
  test('skopeo reads our docker-archive, OCI dir and OCI tar',
    { skip: !hasSkopeo && 'skopeo is not installed (npm run setup)' },
    async (t) => {
      const store = await testStore(t);
      const img = store.image('busybox:layered');
      const dir = tempDir(t);
      saveImages(store, ['busybox:layered'], join(dir, 'd.tar'), 'docker');
      saveImages(store, ['busybox:layered'], join(dir, 'oci/'), 'oci');
      saveImages(store, ['busybox:layered'], join(dir, 'o.tar'), 'oci');
      for (const where of [`docker-archive:${dir}/d.tar`, `oci:${dir}/oci`,
        `oci:${dir}/oci:layered`, `oci-archive:${dir}/o.tar`]) {
        const info = skopeo('inspect', where);
        assert.deepEqual(info.Layers, img.config.rootfs.diff_ids, where);
        assert.deepEqual(info.Labels, { layer: 'two' }, where);
        // skopeo re-marshals times ("…44.92Z"), so compare the rest
        const cfg = skopeo('inspect', '--config', where) as unknown as
          typeof img.config;
        assert.deepEqual(cfg.rootfs, img.config.rootfs, where);
        assert.deepEqual(cfg.config, img.config.config, where);
        assert.deepEqual(cfg.history?.map((h) => h.created_by),
          img.config.history?.map((h) => h.created_by), where);
      }
    });

  test('podman loads our docker-archive',
    { skip: !hasPodman && 'podman is not installed' }, async (t) => {
      const store = await testStore(t);
      const file = join(tempDir(t), 'd.tar');
      saveImages(store, ['busybox:layered'], file, 'docker');
      const r = spawnSync('podman', ['load', '-i', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      spawnSync('podman', ['rmi', 'busybox:layered']);
    });
});

describe('chapter 04: loading images', needsRoot, () => {
  for (const [format, name] of [['docker', 'd.tar'], ['oci', 'o.tar'],
    ['oci', 'oci/']] as const) {
    test(`save -> load -> run round trip (${format}, ${name})`, async (t) => {
      const from = await testStore(t);
      const file = join(tempDir(t), name);
      saveImages(from, ['busybox:layered'], file, format);
      const to = await testStore(t, { empty: true });
      const [img] = await loadImages(to, file);
      assert.equal(img.id, from.image('busybox:layered').id);
      assert.deepEqual(img.tags, ['busybox:layered']);
      const id = uniqueName('c');
      createRootfs(to, id, 'busybox:layered');
      const merged = mountRootfs(to, id);
      const r = runTs(RUN, [merged, 'sh', '-c',
        'cat /etc/motd; ls /bin/vi 2>/dev/null || echo no vi']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'welcome to layer two\nno vi\n');
    });
  }

  test('a gzipped docker-archive loads; known layers are not unpacked again',
    async (t) => {
      const store = await testStore(t);
      const file = join(tempDir(t), 'd.tar');
      saveImages(store, ['busybox:layered'], file, 'docker');
      execFileSync('gzip', [file]);
      store.remove('busybox:layered');
      const [img] = await loadImages(store, `${file}.gz`);
      assert.deepEqual(img.tags, ['busybox:layered']);
      assert.equal(readdirSync(join(store.root, 'layers')).length, 2);
      assert.deepEqual(readdirSync(join(store.root, 'tmp')), []);
    });

  test('skopeo\'s gzip-compressed OCI copy loads',
    { skip: !hasSkopeo && 'skopeo is not installed' }, async (t) => {
      const from = await testStore(t);
      const dir = tempDir(t);
      saveImages(from, ['busybox:layered'], join(dir, 'd.tar'), 'docker');
      execFileSync('skopeo', ['copy', '--quiet', '--dest-compress-format',
        'gzip', '--dest-compress', `docker-archive:${dir}/d.tar`,
        `oci:${dir}/gz:v2`]);
      const blobs = readdirSync(join(dir, 'gz/blobs/sha256'));
      const gz = blobs.filter((b) => readFileSync(join(dir,
        'gz/blobs/sha256', b)).subarray(0, 2).equals(Buffer.from([0x1f,
        0x8b])));
      assert.equal(gz.length, 2, 'two compressed layers');
      const to = await testStore(t, { empty: true });
      const [img] = await loadImages(to, join(dir, 'gz'), { name: 'copy' });
      assert.deepEqual(img.tags, ['copy:v2']);
      assert.deepEqual(img.config.rootfs.diff_ids,
        from.image('busybox:layered').config.rootfs.diff_ids);
    });

  test('a layer that does not match its diff ID is refused', async (t) => {
    const store = await testStore(t);
    const dir = join(tempDir(t), 'oci');
    saveImages(store, ['busybox'], `${dir}/`, 'oci');
    // Swap the layer for another tar and fix up the manifest and the
    // index, as a tampering registry would: only the config's diff ID,
    // which the image ID covers, still names the real layer.
    const blobs = join(dir, 'blobs/sha256');
    const evil = craftTar(join(blobs, 'evil'), [{ path: 'x', body: 'x' }]);
    execFileSync('mv', [join(blobs, 'evil'), join(blobs, hexOf(evil))]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const man = JSON.parse(readFileSync(join(blobs,
      hexOf(index.manifests[0].digest)), 'utf8'));
    man.layers[0] = { ...man.layers[0], digest: evil,
      size: statSync(join(blobs, hexOf(evil))).size };
    const manBytes = Buffer.from(JSON.stringify(man));
    writeFileSync(join(blobs, hexOf(sha256(manBytes))), manBytes);
    index.manifests[0].digest = sha256(manBytes);
    index.manifests[0].size = manBytes.length;
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    const to = await testStore(t, { empty: true });
    await assert.rejects(loadImages(to, dir), /does not match the config's/);
    assert.deepEqual(readdirSync(join(to.root, 'layers')), []);
    assert.deepEqual(readdirSync(join(to.root, 'tmp')), []);
    assert.deepEqual(to.images(), []);
  });

  test('not an image archive: one clear line', async (t) => {
    const store = await testStore(t, { empty: true });
    const dir = tempDir(t);
    mkdirSync(join(dir, 'empty'));
    await assert.rejects(loadImages(store, join(dir, 'empty')),
      /neither a docker-archive \(manifest.json\) nor an OCI layout/);
    writeFileSync(join(dir, 'junk'), 'not a tar at all'.repeat(64));
    await assert.rejects(loadImages(store, join(dir, 'junk')),
      /checksum/);
    assert.ok(!existsSync(join(dir, 'empty', 'manifest.json')));
  });
});
