// Where the daemon finds images. The interface is what the engine needs;
// chapter 04's image store implements it for real.
//
// TEMPORARY: until chapter 04's store lands, the only image is
// "busybox", backed by chapter 01's cachedRootfs(), and each container
// gets a private copy of it (cp -a) instead of an overlay mount.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { cachedRootfs } from '../../chapters/01-chroot/rootfs.ts';
import type { ImageConfig } from '../api-types.ts';

export interface Image {
  /** "sha256:<64 hex>" */
  Id: string;
  RepoTags: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  Config: ImageConfig;
}

export interface ImageSource {
  /** Finds "busybox", "busybox:latest" or an id prefix; else undefined. */
  find(ref: string): Image | undefined;
  list(): Image[];
  /** Makes the container's root filesystem at `dir`; returns its path. */
  makeRootfs(image: Image, dir: string): string;
  /** Undoes makeRootfs. */
  removeRootfs(dir: string): void;
}

/** "busybox" -> "busybox:latest"; "host:5000/a/b:tag" kept. */
export function normalizeRef(ref: string): string {
  const slash = ref.lastIndexOf('/');
  return ref.slice(slash + 1).includes(':') || ref.includes('@')
    ? ref : `${ref}:latest`;
}

// #region temporary-busybox
export class BusyboxSource implements ImageSource {
  private image?: Image;

  private busybox(): Image {
    if (this.image) return this.image;
    const dir = cachedRootfs();
    const bin = readFileSync(`${dir}/bin/busybox`);
    this.image = {
      Id: `sha256:${createHash('sha256').update(bin).digest('hex')}`,
      RepoTags: ['busybox:latest'],
      Created: Math.floor(statSync(`${dir}/bin/busybox`).mtimeMs / 1000),
      Size: bin.length,
      Config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:' +
          '/sbin:/bin'],
        Cmd: ['sh'],
      },
    };
    return this.image;
  }

  find(ref: string): Image | undefined {
    const img = this.busybox();
    const hex = img.Id.slice(7);
    if (img.RepoTags.includes(normalizeRef(ref))) return img;
    const id = ref.replace(/^sha256:/, '');
    return id.length >= 4 && hex.startsWith(id) ? img : undefined;
  }

  list(): Image[] {
    return [this.busybox()];
  }

  makeRootfs(_image: Image, dir: string): string {
    const rootfs = `${dir}/rootfs`;
    execFileSync('cp', ['-a', cachedRootfs(), rootfs]);
    return rootfs;
  }

  removeRootfs(dir: string): void {
    execFileSync('rm', ['-rf', '--one-file-system', `${dir}/rootfs`]);
  }
}
// #endregion
