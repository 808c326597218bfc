// The classic builder's cache: <root>/build-cache.json maps a step's key
// (its parent image, instruction and sources) to the image the step
// made, so that a later build reuses it. POST /build/prune (docker
// builder prune, the last part of docker system prune) empties it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../../chapters/04-aufs-overlay/durable.ts';
import type { ImageStore } from '../../chapters/04-aufs-overlay/store.ts';
import type { Engine } from './engine.ts';
import { BadRequest } from './errors.ts';

export class BuildCache {
  readonly file: string;

  constructor(root: string, private readonly store: ImageStore) {
    this.file = join(root, 'build-cache.json');
  }

  /** The image a step made before, if the store still has it. */
  get(key: string): string | undefined {
    const id = this.read()[key];
    return id && this.store.ids().includes(id) ? id : undefined;
  }

  set(key: string, image: string): void {
    this.store.withLock(() => writeAtomic(this.file,
      JSON.stringify({ ...this.read(), [key]: image })));
  }

  read(): Record<string, string> {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return {};
    }
  }

  write(records: Record<string, string>): void {
    writeAtomic(this.file, JSON.stringify(records));
  }
}

// #region build-prune (unused)
/**
 * POST /build/prune: drops cache records, and the images they kept that
 * nothing else keeps (no tag, no container). Without `all` only those
 * of untagged images go (a tagged image's steps are in use, as
 * BuildKit keeps what a kept image references); filters' `until` keeps
 * the records of images made after it.
 */
export function pruneBuildCache(engine: Engine, query: URLSearchParams)
  : { CachesDeleted: string[]; SpaceReclaimed: number } {
  const store = engine.images.store;
  const cache = new BuildCache(engine.config.root, store);
  const all = /^(1|true)$/i.test(query.get('all') ?? '');
  const until = untilFilter(query.get('filters'));
  const tagged = new Set(Object.values(store.tags()));
  const used = new Set(engine.containers.list().map((c) => c.rec.Image));
  const deleted: string[] = [];
  let reclaimed = 0;
  store.withLock(() => {
    const records = cache.read();
    for (const [key, id] of Object.entries(records)) {
      const image = engine.images.find(id);
      if (image && until !== undefined && image.Created >= until) continue;
      if (image && !all && (tagged.has(id) || used.has(id))) continue;
      delete records[key];
      deleted.push(key);
      if (image && !tagged.has(id) && !used.has(id)) {
        reclaimed += removeImage(store, id);
      }
    }
    cache.write(records);
  });
  return { CachesDeleted: deleted, SpaceReclaimed: reclaimed };
}
// #endregion

/** Removes an image; the bytes of the layers that went with it. */
function removeImage(store: ImageStore, id: string): number {
  const sizes = new Map(store.image(id).config.rootfs.diff_ids
    .map((d) => [d, store.layerMeta(d).size]));
  try {
    return store.remove(id).deleted
      .reduce((n, d) => n + (sizes.get(d) ?? 0), 0);
  } catch {
    return 0; // another build's child keeps it, or it went meanwhile
  }
}

/**
 * filters={"until":["24h"]}: a Go duration before now, unix seconds or
 * an RFC 3339 time (docker's filter values), as unix seconds.
 */
export function untilFilter(filters: string | null): number | undefined {
  if (!filters) return undefined;
  let parsed: Record<string, string[] | Record<string, boolean>>;
  try {
    parsed = JSON.parse(filters);
  } catch (err) {
    throw new BadRequest('invalid filter: not JSON', { cause: err });
  }
  const value = parsed.until;
  const text = Array.isArray(value) ? value[0]
    : value ? Object.keys(value)[0] : undefined;
  if (text === undefined) return undefined;
  const now = Date.now() / 1000;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)];
  if (parts.length && parts.map((p) => p[0]).join('') === text) {
    return now - parts.reduce((n, p) => n + Number(p[1]) * units[p[2]], 0);
  }
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) {
    throw new BadRequest(`invalid filter 'until=${text}'`);
  }
  return at / 1000;
}
