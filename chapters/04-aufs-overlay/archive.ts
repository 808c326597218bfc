// Images in and out of the store: `docker load` and `docker save`
// archives, OCI image layouts (a directory or its tar), and `docker
// import` of a plain rootfs tarball.
//
// docker-archive (what `docker save` wrote until Docker 25):
//   manifest.json   [{"Config":"<id>.json","RepoTags":[..],"Layers":[..]}]
//   repositories    {"busybox":{"latest":"<top layer dir>"}}
//   <id>.json       the image config
//   <dir>/layer.tar one uncompressed tar per layer
// OCI image layout (github.com/opencontainers/image-spec, image-layout.md):
//   oci-layout      {"imageLayoutVersion":"1.0.0"}
//   index.json      descriptors of manifests, names in annotations
//   blobs/sha256/<hex>  manifests, configs and layers, by digest
import {
  closeSync, createReadStream, createWriteStream, existsSync, mkdirSync,
  openSync, readFileSync, readSync, renameSync, rmSync, statSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DEFAULT_PATH } from '../01-chroot/chroot.ts';
import {
  type ContainerConfig, type Image, ImageError, type ImageConfig,
  type ImageStore, type StagedLayer, hexOf, normalizeRef, sha256,
} from './store.ts';
import { writeAll, writeAtomic } from './durable.ts';
import { TarReader, TarWriter } from './tar.ts';
import { type BlobRange, compressionOf, readRange } from './unpack.ts';

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
};

// ---------------------------------------------------------------------------
// Reading an archive: a directory, or a tar indexed once.

/** Named files of an archive, readable whole or as a byte range. */
interface ArchiveSource {
  has(name: string): boolean;
  read(name: string): Buffer;
  range(name: string): BlobRange;
  close(): void;
}

function dirSource(dir: string): ArchiveSource {
  const path = (name: string) => join(dir, entryName(name));
  return {
    has: (name) => existsSync(path(name)),
    read: (name) => readFileSync(path(name)),
    range: (name) => ({ file: path(name) }),
    close: () => {},
  };
}

function entryName(name: string): string {
  return posix.normalize(name).replace(/^(\.\/)+/, '').replace(/\/$/, '');
}

// #region tar-index
/**
 * Where each member of a tar archive lies: one pass over the headers,
 * after which layers are read in place, never copied out. A compressed
 * archive (`docker save | gzip`) is inflated to a scratch file first.
 */
async function tarSource(file: string, scratch: () => string):
Promise<ArchiveSource> {
  let tmp: string | undefined;
  const magic = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (compressionOf(magic) === 'gzip') {
    tmp = join(scratch(), 'archive.tar');
    await pipeline(createReadStream(file), createGunzip(),
      createWriteStream(tmp));
    file = tmp;
  }
  const index = new Map<string, { start: number; length: number;
    link?: string }>();
  const reader: TarReader = new TarReader({
    entry: (e) => index.set(entryName(e.path), { start: reader.entryOffset,
      length: e.size, link: e.type === 'symlink' || e.type === 'link'
        ? e.linkpath : undefined }),
    data: () => {}, end: () => {},
  });
  readRange({ file }, (b) => reader.push(b));
  reader.finish();
  // #endregion
  // #region tar-find
  const find = (name: string) => {
    let e = index.get(entryName(name));
    for (let hops = 0; e?.link !== undefined && hops < 8; hops++) {
      // docker save (25+) links duplicate layers to one blob
      const base = e.link.startsWith('/') ? '' : posix.dirname(name);
      name = posix.join(base, e.link);
      e = index.get(entryName(name));
    }
    if (!e) throw new ImageError(`archive has no "${name}"`);
    return e;
  };
  return {
    has: (name) => index.has(entryName(name)),
    read: (name) => {
      const e = find(name);
      const parts: Buffer[] = [];
      readRange({ file, start: e.start, length: e.length },
        (b) => parts.push(Buffer.from(b)));
      return Buffer.concat(parts);
    },
    range: (name) => {
      const e = find(name);
      return { file, start: e.start, length: e.length };
    },
    close: () => { if (tmp) rmSync(dirname(tmp), { recursive: true }); },
  };
}
// #endregion

// #region load
/**
 * `docker load`: a docker-archive or an OCI layout, as a directory or a
 * tar (possibly gzipped). Returns the images it stored.
 */
export async function loadImages(store: ImageStore, path: string,
  opts: { name?: string } = {}): Promise<Image[]> {
  let src: ArchiveSource;
  try {
    src = statSync(path).isDirectory() ? dirSource(path)
      : await tarSource(path, () => store.scratch('load-'));
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError(`load ${path}: ${(err as Error).message}`,
      { cause: err });
  }
  try {
    if (src.has('manifest.json')) return await loadDocker(store, src);
    if (src.has('oci-layout')) return await loadOci(store, src, opts.name);
    throw new ImageError(`load ${path}: neither a docker-archive ` +
      '(manifest.json) nor an OCI layout (oci-layout)');
  } finally {
    src.close();
  }
}
// #endregion

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function loadDocker(store: ImageStore, src: ArchiveSource):
Promise<Image[]> {
  const manifest = parseJson<DockerManifestEntry[]>(
    src.read('manifest.json'), 'manifest.json');
  const images: Image[] = [];
  for (const m of manifest) {
    const raw = src.read(m.Config);
    const layers = m.Layers.map((l) => src.range(l));
    images.push(await storeImage(store, raw, layers, m.RepoTags ?? []));
  }
  return images;
}

// #region store-image
/**
 * Unpacks the layers the store lacks, checks each against the diff ID
 * the config names, then stores config, layers and tags together. A
 * layer the store has is never read: a registry pull (final/daemon/
 * registry.ts) downloads only the others and passes none for it.
 */
export async function storeImage(store: ImageStore, raw: Buffer,
  layers: (BlobRange | undefined)[], tags: string[]): Promise<Image> {
  const config = parseJson<ImageConfig>(raw, 'image config');
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== layers.length) {
    throw new ImageError(`image config lists ${diffIds.length} layers, ` +
      `the manifest ${layers.length}`);
  }
  const staged: StagedLayer[] = [];
  try {
    for (let i = 0; i < layers.length; i++) {
      if (store.hasLayer(diffIds[i])) continue; // stored once, shared
      const blob = layers[i];
      if (!blob) throw new ImageError(`layer ${i + 1}: not downloaded`);
      const s = await store.stageLayer(blob);
      staged.push(s);
      if (s.diffId !== diffIds[i]) {
        throw new ImageError(`layer ${i + 1}: content ${s.diffId} does not ` +
          `match the config's diff ID ${diffIds[i]}`);
      }
    }
    return store.addImage(raw, staged, tags);
  } catch (err) {
    for (const s of staged) rmSync(s.dir, { recursive: true, force: true });
    throw err;
  }
}
// #endregion

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

async function loadOci(store: ImageStore, src: ArchiveSource,
  name?: string): Promise<Image[]> {
  const blob = (d: Descriptor) => `blobs/${d.digest.replace(':', '/')}`;
  const readBlob = (d: Descriptor) => {
    const b = src.read(blob(d));
    if (sha256(b) !== d.digest) {
      throw new ImageError(`blob ${d.digest}: content does not match`);
    }
    return b;
  };
  const index = parseJson<{ manifests: Descriptor[] }>(
    src.read('index.json'), 'index.json');
  const images: Image[] = [];
  const visit = async (d: Descriptor, names: string[]): Promise<void> => {
    if (d.mediaType === MT.ociIndex || d.mediaType === MT.dockerList) {
      const sub = parseJson<{ manifests: Descriptor[] }>(readBlob(d), d.digest);
      const mine = sub.manifests.find((m) => !m.platform ||
        (m.platform.os === 'linux' &&
          m.platform.architecture === goArch()));
      if (!mine) throw new ImageError(`${d.digest}: no ${goArch()} image`);
      return visit(mine, names);
    }
    const man = parseJson<{ config: Descriptor; layers: Descriptor[] }>(
      readBlob(d), d.digest);
    const layers = man.layers.map((l) => {
      verifyRange(src.range(blob(l)), l.digest);
      return src.range(blob(l));
    });
    images.push(await storeImage(store, readBlob(man.config), layers, names));
  };
  for (const d of index.manifests) {
    const a = d.annotations ?? {};
    const ref = a['io.containerd.image.name'] ??
      (a['org.opencontainers.image.ref.name']?.match(/[:/]/)
        ? a['org.opencontainers.image.ref.name'] : undefined) ??
      (name ? `${name}:${a['org.opencontainers.image.ref.name'] ??
        'latest'}` : undefined);
    await visit(d, ref ? [shortName(ref)] : []);
  }
  return images;
}

/** A blob's digest is checked before it is unpacked. */
function verifyRange(r: BlobRange, digest: string): void {
  const h = createHash('sha256');
  readRange(r, (b) => h.update(b));
  if (`sha256:${h.digest('hex')}` !== digest) {
    throw new ImageError(`blob ${digest}: content does not match`);
  }
}

/** "docker.io/library/busybox:latest" -> "busybox:latest". */
function shortName(ref: string): string {
  return ref.replace(/^docker\.io\/(library\/)?/, '');
}

/** "busybox:latest" -> "docker.io/library/busybox:latest". */
function longName(ref: string): string {
  const first = ref.split('/')[0];
  if (ref.includes('/') && /[.:]|^localhost$/.test(first)) return ref;
  return `docker.io/${ref.includes('/') ? '' : 'library/'}${ref}`;
}

function parseJson<T>(b: Buffer, what: string): T {
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch (err) {
    throw new ImageError(`${what}: not valid JSON`, { cause: err });
  }
}

/** Node's process.arch in the image spec's (Go's) words. */
export function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386',
    ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as
    Record<string, string>)[process.arch] ?? process.arch;
}

// ---------------------------------------------------------------------------
// Writing archives.

/** Where save() writes: files of a directory, or members of a tar. */
interface ArchiveSink {
  file(name: string, data: Buffer): void;
  copy(name: string, from: string, size: number): void;
  finish(): void;
}

function dirSink(dir: string): ArchiveSink {
  mkdirSync(dir, { recursive: true });
  return {
    file: (name, data) => {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeAtomic(join(dir, name), data);
    },
    copy: (name, from, size) => {
      const to = join(dir, name);
      if (existsSync(to) && statSync(to).size === size) return;
      mkdirSync(dirname(to), { recursive: true });
      writeAtomic(to, (fd) =>
        readRange({ file: from }, (b) => writeAll(fd, b)));
    },
    finish: () => {},
  };
}

function tarSink(path: string): ArchiveSink {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  const tw = new TarWriter(fd);
  const dirs = new Set<string>();
  const now = Math.floor(Date.now() / 1000);
  const parents = (name: string) => {
    const parts = name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (dirs.has(d)) continue;
      dirs.add(d);
      tw.header({ path: `${d}/`, type: 'dir', mtime: now });
    }
  };
  return {
    file: (name, data) => {
      parents(name);
      tw.header({ path: name, type: 'file', size: data.length, mtime: now });
      tw.write(data);
      tw.pad(data.length);
    },
    copy: (name, from, size) => {
      parents(name);
      tw.header({ path: name, type: 'file', size, mtime: now });
      readRange({ file: from }, (b) => tw.write(b));
      tw.pad(size);
    },
    finish: () => {
      tw.finish();
      closeSync(fd);
      renameSync(tmp, path);
    },
  };
}

export type SaveFormat = 'docker' | 'oci';

// #region save
/**
 * `docker save`: images and their layers into one archive. 'docker' is
 * the classic docker-archive tar; 'oci' an OCI layout, as a directory
 * when `path` ends in "/" or exists as one, else as a tar.
 */
export function saveImages(store: ImageStore, refs: string[], path: string,
  format: SaveFormat = 'docker'): void {
  const images = refs.map((r) => ({ ref: r, img: store.image(r) }));
  const asDir = format === 'oci' && (path.endsWith('/') ||
    (existsSync(path) && statSync(path).isDirectory()));
  const sink = asDir ? dirSink(path) : tarSink(path);
  try {
    if (format === 'docker') saveDocker(store, images, sink);
    else saveOci(store, images, sink);
    sink.finish();
  } catch (err) {
    if (!asDir) rmSync(`${path}.${process.pid}.tmp`, { force: true });
    throw err;
  }
}
// #endregion

/** The tags to write for a ref: the named one, or all of the image's. */
function tagsFor(ref: string, img: Image): string[] {
  try {
    const n = normalizeRef(ref);
    if (img.tags.includes(n)) return [n];
  } catch { /* an ID */ }
  return img.tags;
}

function saveDocker(store: ImageStore, images: { ref: string; img: Image }[],
  sink: ArchiveSink): void {
  const manifest: DockerManifestEntry[] = [];
  const repos: Record<string, Record<string, string>> = {};
  const written = new Set<string>();
  for (const { ref, img } of images) {
    const layers: string[] = [];
    for (const d of img.config.rootfs.diff_ids) {
      const name = `${hexOf(d)}/layer.tar`;
      if (!written.has(d)) {
        written.add(d);
        sink.file(`${hexOf(d)}/VERSION`, Buffer.from('1.0'));
        sink.copy(name, store.layerTar(d), store.layerMeta(d).size);
      }
      layers.push(name);
    }
    sink.file(`${hexOf(img.id)}.json`, img.raw);
    const tags = tagsFor(ref, img);
    manifest.push({ Config: `${hexOf(img.id)}.json`, RepoTags: tags,
      Layers: layers });
    for (const t of tags) {
      const colon = t.lastIndexOf(':');
      (repos[t.slice(0, colon)] ??= {})[t.slice(colon + 1)] =
        dirname(layers[layers.length - 1] ?? '.');
    }
  }
  sink.file('manifest.json', Buffer.from(JSON.stringify(manifest)));
  sink.file('repositories', Buffer.from(JSON.stringify(repos)));
}

function saveOci(store: ImageStore, images: { ref: string; img: Image }[],
  sink: ArchiveSink): void {
  const written = new Set<string>();
  const blob = (digest: string) => `blobs/sha256/${hexOf(digest)}`;
  const put = (b: Buffer, mediaType: string): Descriptor => {
    const digest = sha256(b);
    if (!written.has(digest)) sink.file(blob(digest), b);
    written.add(digest);
    return { mediaType, digest, size: b.length };
  };
  const manifests: Descriptor[] = [];
  for (const { ref, img } of images) {
    const layers = img.config.rootfs.diff_ids.map((d) => {
      const size = store.layerMeta(d).size;
      if (!written.has(d)) sink.copy(blob(d), store.layerTar(d), size);
      written.add(d);
      return { mediaType: MT.ociLayer, digest: d, size };
    });
    const man = { schemaVersion: 2, mediaType: MT.ociManifest,
      config: put(img.raw, MT.ociConfig), layers };
    const d = put(Buffer.from(JSON.stringify(man)), MT.ociManifest);
    const tags = tagsFor(ref, img);
    if (tags.length === 0) manifests.push(d);
    for (const t of tags) {
      manifests.push({ ...d, annotations: {
        'io.containerd.image.name': longName(t),
        'org.opencontainers.image.ref.name': t.slice(t.lastIndexOf(':') + 1),
      } });
    }
  }
  sink.file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  sink.file('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2,
    mediaType: MT.ociIndex, manifests })));
}

// ---------------------------------------------------------------------------


// #region import
/**
 * `docker import`: a plain rootfs tarball (any compression) becomes a
 * one-layer image, with `changes` as its default config.
 */
export async function importRootfs(store: ImageStore, tarball: string,
  opts: { ref?: string; changes?: ContainerConfig; message?: string } = {},
): Promise<Image> {
  if (opts.ref) normalizeRef(opts.ref); // fail before the long part
  const s = await store.stageLayer({ file: tarball });
  const created = new Date().toISOString();
  const config: ImageConfig = {
    architecture: goArch(), os: 'linux', created,
    config: { Env: [DEFAULT_PATH], ...opts.changes },
    rootfs: { type: 'layers', diff_ids: [s.diffId] },
    history: [{ created, created_by: `skiff import ${basename(tarball)}`,
      ...(opts.message ? { comment: opts.message } : {}) }],
  };
  return store.addImage(Buffer.from(JSON.stringify(config)), [s],
    opts.ref ? [opts.ref] : []);
}
// #endregion

// #region stack
/**
 * A new image: `base` with one more layer from a tarball on top (what a
 * Dockerfile's ADD of a tar does); `createdBy` goes into the history.
 */
export async function stackLayer(store: ImageStore, base: string,
  tarball: string, opts: { ref?: string; createdBy?: string;
    changes?: ContainerConfig } = {}): Promise<Image> {
  const parent = store.image(base).config;
  const s = await store.stageLayer({ file: tarball });
  const created = new Date().toISOString();
  const config: ImageConfig = structuredClone(parent);
  config.created = created;
  config.config = { ...config.config, ...opts.changes };
  config.rootfs.diff_ids.push(s.diffId);
  (config.history ??= []).push({ created,
    created_by: opts.createdBy ?? `skiff add ${basename(tarball)}` });
  return store.addImage(Buffer.from(JSON.stringify(config)), [s],
    opts.ref ? [opts.ref] : []);
}
// #endregion
