// Where the daemon finds images: chapter 04's image store under the
// engine's root, seen through the few calls the engine needs. Docker's
// JSON shapes (Id, RepoTags, Created in seconds) are made here, once.
//
// The first daemon on a root imports chapter 01's busybox rootfs as
// "busybox:latest", so that `skiff run busybox sh` works on a machine
// without internet (registry.ts pulls from registries).
import {
  closeSync, existsSync, openSync, readdirSync, rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../chapters/01-chroot/rootfs.ts';
import { importRootfs } from '../../chapters/04-aufs-overlay/archive.ts';
import { removeRootfs } from '../../chapters/04-aufs-overlay/overlay.ts';
import { packTree } from '../../chapters/04-aufs-overlay/pack.ts';
import {
  ImageError, ImageStore, normalizeRef as storeRef,
  type Image as StoredImage, type HistoryEntry,
} from '../../chapters/04-aufs-overlay/store.ts';
import { TarWriter } from '../../chapters/04-aufs-overlay/tar.ts';
import type { ImageConfig } from '../api-types.ts';

export interface Image {
  /** "sha256:<64 hex>" */
  Id: string;
  RepoTags: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  Config: ImageConfig;
  /** The layers' diff IDs, bottom first. */
  Layers: string[];
  History: HistoryEntry[];
  Author?: string;
  Architecture: string;
  Os: string;
}

export interface ImageSource {
  /** Finds "busybox", "busybox:latest" or an id prefix; else undefined. */
  find(ref: string): Image | undefined;
  list(): Image[];
  /**
   * Chapter 04's store itself: containers' layers (created with the
   * container, mounted by the start's overlay step), load, save,
   * commit, export use it.
   */
  readonly store: ImageStore;
}

/**
 * "busybox" -> "busybox:latest"; "host:5000/a/b:tag" kept. Never
 * throws: an invalid reference comes back as it is (for messages).
 */
export function normalizeRef(ref: string): string {
  try {
    return storeRef(ref);
  } catch {
    return ref;
  }
}

/**
 * Docker Hub's names as docker's CLI sends them ("docker.io/library/
 * busybox") in the short form the store keeps ("busybox").
 */
export function familiar(ref: string): string {
  return ref.replace(
    /^(?:index\.)?docker\.io\/(?:library\/(?=[^/]+$))?/, '');
}

// #region store-images (unused)
// #region store-find
export class StoreImages implements ImageSource {
  readonly store: ImageStore;

  constructor(root: string) {
    this.store = new ImageStore(root);
  }

  find(ref: string): Image | undefined {
    try {
      return this.toImage(this.store.image(familiar(ref)));
    } catch (err) {
      if (err instanceof ImageError && / not found$/.test(err.message)) {
        return undefined;
      }
      throw err;
    }
  }

  list(): Image[] {
    return this.store.images().map((i) => this.toImage(i))
      .sort((a, b) => b.Created - a.Created);
  }
  // #endregion

  private toImage(i: StoredImage): Image {
    const c = i.config;
    return {
      Id: i.id, RepoTags: i.tags.sort(),
      Created: Math.floor(Date.parse(c.created ?? '') / 1000) || 0,
      Size: this.store.size(i), Config: { ...c.config },
      Layers: [...c.rootfs.diff_ids], History: c.history ?? [],
      Author: c.author, Architecture: c.architecture, Os: c.os,
    };
  }
}
// #endregion

// #region seed-busybox
/**
 * Gives a fresh store its one image: chapter 01's busybox rootfs, built
 * afresh (the tests' shared copy may hold their leftovers), packed into
 * a tar and imported as "busybox:latest" with `sh` as its command.
 * Does nothing when the store has that tag already.
 */
export async function seedBusybox(store: ImageStore): Promise<void> {
  if (store.tags()['busybox:latest']) return;
  const dir = store.scratch('seed-');
  try {
    const tree = join(dir, 'rootfs');
    makeBusyboxRootfs(tree);
    const tar = join(dir, 'busybox-rootfs.tar');
    const fd = openSync(tar, 'w', 0o600);
    try {
      const tw = new TarWriter(fd);
      packTree(tree, tw);
      tw.finish();
    } finally {
      closeSync(fd);
    }
    await importRootfs(store, tar, { ref: 'busybox:latest',
      changes: { Cmd: ['sh'] } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
// #endregion

// #region orphan-layers
/**
 * A crash between making a container's layer and writing its state
 * leaves a layer nobody owns. At daemon start: delete the layers of
 * containers that have no state file. (The others are mounted by their
 * next start; a mount does not survive a reboot anyway.)
 */
export function removeOrphanLayers(store: ImageStore,
  containersDir: string): void {
  for (const id of readdirSync(join(store.root, 'overlay'))) {
    if (existsSync(join(containersDir, id, 'state.json'))) continue;
    try {
      removeRootfs(store, id);
    } catch (err) {
      console.error(`remove layer of ${id}: ${(err as Error).message}`);
    }
  }
}
// #endregion
