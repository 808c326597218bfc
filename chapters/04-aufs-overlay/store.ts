// The image store: layers kept once, by content, and the images that
// list them. On disk, under one root directory (/var/lib/skiff):
//
//   layers/<hex>/diff/       the layer unpacked, an overlayfs lower dir
//   layers/<hex>/layer.tar   the uncompressed tar, sha256 = <hex> (diff ID)
//   layers/<hex>/meta.json   size, entry count, short link
//   l/<short> -> ../layers/<hex>/diff   short names for the mount options
//   images/<hex>.json        an image config; sha256 of its bytes = image ID
//   repositories.json        "busybox:latest" -> image ID
//   overlay/<container>/     upper, work, merged dirs of each container
//
// Every change happens under an exclusive flock(2) on <root>/store.lock
// and is written to a temporary file then renamed (durable.ts), so a
// crash leaves the old state or the new one, never half a file.
import {
  closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync,
  readFileSync, readdirSync, renameSync, rmSync, symlinkSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { syncDir, withFileLock, writeAtomic } from './durable.ts';
import { type BlobRange, unpack, type WhiteoutFormat } from './unpack.ts';

export const DEFAULT_ROOT = process.env.SKIFF_ROOT ?? '/var/lib/skiff';

// #region driver
export type UnionDriver = 'aufs' | 'overlay';

/**
 * The union filesystem to use: AUFS where the kernel has it (Debian and
 * Ubuntu shipped it as a patch for years; Docker preferred it), overlayfs
 * otherwise, in mainline since Linux 3.18. overlay is often a module
 * that mount(2) loads on first use, so it need not be listed yet.
 */
export function unionDriver(): UnionDriver {
  const fs = readFileSync('/proc/filesystems', 'utf8');
  return /\taufs$/m.test(fs) ? 'aufs' : 'overlay';
}
// #endregion

// #region image-config
/** The image config of the OCI image spec (config.md), Docker's too. */
export interface ImageConfig {
  architecture: string;
  os: string;
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** What a container of the image runs by default. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  /** True for steps that changed only the config (ENV, CMD, ...). */
  empty_layer?: boolean;
}
// #endregion

export interface Image {
  /** "sha256:<hex>" of the config's bytes. */
  id: string;
  config: ImageConfig;
  /** Bytes of the config exactly as stored (its digest is the id). */
  raw: Buffer;
  tags: string[];
}

export interface LayerMeta {
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  entries: number;
  /** Name under l/, short enough for many lowerdirs in one page. */
  link: string;
}

/** An error a user caused, with Docker's exit status for the CLI. */
export class ImageError extends Error {
  readonly exitCode = 125;
}

export const sha256 = (b: Buffer | string) =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const hexOf = (digest: string) => digest.replace(/^sha256:/, '');

// #region chain-id
/**
 * A layer's chain ID names it together with everything below it:
 * ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " +
 * DiffID(Ln)) (OCI image spec, config.md "Layer ChainID").
 */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  }
  return out;
}
// #endregion

// #region reference
// distribution/reference's grammar: path components joined by "/"
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * "busybox" -> "busybox:latest", as Docker does; a registry with a port
 * ("localhost:5000/app") keeps its colon. Throws on anything invalid.
 */
export function normalizeRef(ref: string): string {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  let name = ref, tag = 'latest';
  if (colon > slash) {
    name = ref.slice(0, colon);
    tag = ref.slice(colon + 1);
  }
  const first = name.indexOf('/');
  const host = first > 0 && /[.:]|^localhost$/.test(name.slice(0, first))
    ? name.slice(0, first + 1) : '';
  const path = name.slice(host.length);
  if (!NAME.test(path) || !TAG.test(tag) ||
    (host && !/^[a-zA-Z0-9.-]+(:\d+)?\/$/.test(host))) {
    throw new ImageError(`invalid reference format: "${ref}"`);
  }
  return `${name}:${tag}`;
}
// #endregion

export class ImageStore {
  private lockDepth = 0;

  /**
   * Layers keep deletions in the form the union filesystem reads:
   * overlayfs's 0/0 devices, or AUFS's own ".wh." files.
   */
  constructor(readonly root: string = DEFAULT_ROOT,
    readonly whiteouts: WhiteoutFormat = unionDriver()) {
    for (const d of ['layers', 'l', 'images', 'overlay', 'tmp']) {
      mkdirSync(join(root, d), { recursive: true });
    }
  }

  layerDir(diffId: string): string {
    return join(this.root, 'layers', hexOf(diffId));
  }

  diffDir(diffId: string): string {
    return join(this.layerDir(diffId), 'diff');
  }

  layerTar(diffId: string): string {
    return join(this.layerDir(diffId), 'layer.tar');
  }

  hasLayer(diffId: string): boolean {
    return existsSync(join(this.layerDir(diffId), 'meta.json'));
  }

  layerMeta(diffId: string): LayerMeta {
    return JSON.parse(readFileSync(join(this.layerDir(diffId), 'meta.json'),
      'utf8'));
  }

  // #region lock
  /**
   * Runs `fn` holding the store's lock: flock(2) on <root>/store.lock
   * (durable.ts), which the kernel drops if we die. `fn` is synchronous:
   * flock blocks the whole thread, and an await inside would let a second
   * caller in this process block it forever. Nested calls just run.
   */
  withLock<T>(fn: () => T): T {
    if (this.lockDepth > 0) {
      this.lockDepth++;
      try { return fn(); } finally { this.lockDepth--; }
    }
    return withFileLock(join(this.root, 'store.lock'), () => {
      this.lockDepth = 1;
      try { return fn(); } finally { this.lockDepth = 0; }
    });
  }
  // #endregion

  /** A fresh scratch directory on the store's filesystem. */
  scratch(prefix = 'x-'): string {
    return mkdtempSync(join(this.root, 'tmp', prefix));
  }

  // #region add-layer
  /**
   * Unpacks a layer blob into a scratch directory and keeps its tar
   * next to it. Not yet part of the store: commitLayers() moves it in,
   * under the lock, with the image that uses it.
   */
  async stageLayer(blob: BlobRange): Promise<StagedLayer> {
    const dir = this.scratch('layer-');
    mkdirSync(join(dir, 'diff'));
    const fd = openSync(join(dir, 'layer.tar'), 'w');
    try {
      const s = await unpack(blob, join(dir, 'diff'), {
        whiteouts: this.whiteouts, copyTo: fd });
      fsyncSync(fd);
      return { dir, diffId: s.diffId, size: s.bytes, entries: s.entries };
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    } finally {
      closeSync(fd);
    }
  }

  /** Moves staged layers into place; one already there is kept. */
  private commitLayer(s: StagedLayer): void {
    if (this.hasLayer(s.diffId)) {
      rmSync(s.dir, { recursive: true, force: true });
      return;
    }
    const final = this.layerDir(s.diffId);
    rmSync(final, { recursive: true, force: true }); // a crashed attempt
    const link = hexOf(s.diffId).slice(0, 12);
    const meta: LayerMeta = { diffId: s.diffId, size: s.size,
      entries: s.entries, link };
    writeAtomic(join(s.dir, 'meta.json'), JSON.stringify(meta));
    renameSync(s.dir, final);
    rmSync(join(this.root, 'l', link), { force: true });
    symlinkSync(`../layers/${hexOf(s.diffId)}/diff`,
      join(this.root, 'l', link));
  }
  // #endregion

  // #region add-image
  /**
   * Stores an image: its staged layers, its config, its tags, in one
   * locked step, so a concurrent `rmi` never sees half an image.
   * The config's rootfs.diff_ids must match the layers' contents.
   */
  addImage(configBytes: Buffer, staged: StagedLayer[],
    tags: string[] = []): Image {
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    const want = config.rootfs?.diff_ids ?? [];
    return this.withLock(() => {
      for (const s of staged) this.commitLayer(s);
      syncDir(join(this.root, 'layers')); // on disk before an image names them
      for (const d of want) {
        if (!this.hasLayer(d)) {
          throw new ImageError(`image config lists layer ${d}, ` +
            'which the archive does not contain');
        }
      }
      const id = sha256(configBytes);
      writeAtomic(this.configPath(id), configBytes);
      for (const t of tags) this.setTag(normalizeRef(t), id);
      return this.image(id);
    });
  }
  // #endregion

  private configPath(id: string): string {
    return join(this.root, 'images', `${hexOf(id)}.json`);
  }

  /** name:tag -> image ID. */
  tags(): Record<string, string> {
    try {
      return JSON.parse(readFileSync(join(this.root, 'repositories.json'),
        'utf8'));
    } catch {
      return {};
    }
  }

  private writeTags(t: Record<string, string>): void {
    const sorted = Object.fromEntries(Object.entries(t).sort());
    writeAtomic(join(this.root, 'repositories.json'),
      `${JSON.stringify(sorted, null, 2)}\n`);
  }

  private setTag(ref: string, id: string): void {
    this.withLock(() => this.writeTags({ ...this.tags(), [ref]: id }));
  }

  /** `docker tag SOURCE TARGET`. */
  tag(source: string, target: string): void {
    const id = this.resolve(source);
    this.setTag(normalizeRef(target), id);
  }

  // #region resolve
  /**
   * An image ID from what a user types: name[:tag], a full "sha256:…"
   * ID, or an unambiguous prefix of one (at least 4 hex digits).
   */
  resolve(ref: string): string {
    const tags = this.tags();
    if (!/^(sha256:)?[0-9a-f]{4,64}$/.test(ref) || ref.includes('/')) {
      const id = tags[normalizeRef(ref)];
      if (id) return id;
      throw new ImageError(`image "${ref}" not found`);
    }
    const hex = hexOf(ref);
    const matches = this.ids().filter((id) => hexOf(id).startsWith(hex));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      throw new ImageError(`image ID prefix "${ref}" is ambiguous`);
    }
    const named = tags[normalizeRef(ref)]; // a name that looks like hex
    if (named) return named;
    throw new ImageError(`image "${ref}" not found`);
  }
  // #endregion

  ids(): string[] {
    return readdirSync(join(this.root, 'images'))
      .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
      .map((f) => `sha256:${f.slice(0, 64)}`);
  }

  image(ref: string): Image {
    const id = this.resolve(ref);
    const raw = readFileSync(this.configPath(id));
    const tags = Object.entries(this.tags()).filter(([, v]) => v === id)
      .map(([k]) => k);
    return { id, raw, config: JSON.parse(raw.toString('utf8')), tags };
  }

  images(): Image[] {
    return this.ids().map((id) => this.image(id));
  }

  /** Bytes of an image's layers (uncompressed tars). */
  size(img: Image): number {
    return img.config.rootfs.diff_ids
      .reduce((n, d) => n + this.layerMeta(d).size, 0);
  }

  /** Images in use by containers: <root>/overlay/<id>/image. */
  private usedByContainers(): Map<string, string[]> {
    const used = new Map<string, string[]>();
    for (const c of readdirSync(join(this.root, 'overlay'))) {
      let id: string;
      try {
        id = readFileSync(join(this.root, 'overlay', c, 'image'), 'utf8');
      } catch {
        continue;
      }
      used.set(id, [...(used.get(id) ?? []), c]);
    }
    return used;
  }

  // #region rmi
  /**
   * `docker rmi`: untags a name; deletes the image when no tag and no
   * container is left; then removes every layer no image lists any more.
   */
  remove(ref: string, opts: { force?: boolean } = {}): RemoveResult {
    return this.withLock(() => {
      const id = this.resolve(ref);
      const tags = this.tags();
      const mine = Object.keys(tags).filter((t) => tags[t] === id);
      const byName = mine.includes(safeNormalize(ref));
      const users = this.usedByContainers().get(id) ?? [];
      const result: RemoveResult = { untagged: [], deleted: [] };
      if (!byName && mine.length > 1 && !opts.force) {
        throw new ImageError(`conflict: unable to delete ${short(id)} ` +
          '(must be forced) - image is referenced in multiple repositories');
      }
      if ((!byName || mine.length === 1) && users.length && !opts.force) {
        throw new ImageError(`conflict: unable to remove "${ref}" ` +
          `(must force) - container ${users[0]} is using its image ${
            short(id)}`);
      }
      for (const t of byName ? [safeNormalize(ref)] : mine) {
        delete tags[t];
        result.untagged.push(t);
      }
      this.writeTags(tags);
      const left = Object.values(tags).includes(id);
      if (!left && users.length === 0) {
        rmSync(this.configPath(id), { force: true });
        result.deleted.push(id, ...this.gc());
      }
      return result;
    });
  }
  // #endregion

  // #region gc
  /** Removes layers no stored image lists. Returns their diff IDs. */
  gc(): string[] {
    return this.withLock(() => {
      const live = new Set<string>();
      for (const id of this.ids()) {
        const cfg = JSON.parse(readFileSync(this.configPath(id), 'utf8'));
        for (const d of cfg.rootfs.diff_ids) live.add(hexOf(d));
      }
      const gone: string[] = [];
      for (const hex of readdirSync(join(this.root, 'layers'))) {
        if (live.has(hex)) continue;
        rmSync(join(this.root, 'l', hex.slice(0, 12)), { force: true });
        rmSync(join(this.root, 'layers', hex), { recursive: true,
          force: true });
        gone.push(`sha256:${hex}`);
      }
      return gone;
    });
  }
  // #endregion
}

export interface StagedLayer {
  dir: string;
  diffId: string;
  size: number;
  entries: number;
}

export interface RemoveResult {
  untagged: string[];
  deleted: string[];
}

function safeNormalize(ref: string): string {
  try {
    return normalizeRef(ref);
  } catch {
    return ref;
  }
}

/** The 12-hex-digit form `docker images` shows. */
export function short(id: string): string {
  return hexOf(id).slice(0, 12);
}
