// Named volumes: directories under <root>/volumes/<name>/_data that
// outlive containers (docker's "local" driver), where a container's
// binds and volumes come from, and a new volume's first content: the
// image's files at its mount point.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync, constants as fsc, existsSync, mkdirSync, readdirSync, rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  O_PATH, openInRoot,
} from '../../chapters/06-security/inroot.ts';
import type { MountSpec } from '../binds.ts';
import { BadRequest, Conflict, NotFound } from './errors.ts';
import type { Events } from './events.ts';
import { MAX_NAME } from './limits.ts';
import { readJson, writeError, writeJson } from './state.ts';

export interface Volume {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class Volumes {
  constructor(readonly dir: string,
    /** The daemon's bus: create and destroy (driver=local). */
    private readonly events?: Events) {
    mkdirSync(dir, { recursive: true });
  }

  create(name = randomBytes(32).toString('hex'),
    labels: Record<string, string> = {}): Volume {
    if (!VOLUME_NAME.test(name)) {
      throw new BadRequest(`create ${name}: "${name}" includes invalid ` +
        'characters for a local volume name, only ' +
        '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to ' +
        'pass a host directory, use absolute path');
    }
    if (name.length > MAX_NAME) {
      throw new BadRequest(`create ${name.slice(0, 64)}...: a volume name ` +
        `is a directory name, at most ${MAX_NAME} bytes (NAME_MAX)`);
    }
    const existing = this.find(name);
    if (existing) return existing;
    const vol: Volume = {
      Name: name, Driver: 'local', Mountpoint: join(this.dir, name, '_data'),
      CreatedAt: new Date().toISOString(), Labels: labels, Scope: 'local',
      Options: {},
    };
    this.write(vol);
    this.events?.emit('volume', 'create', name, { driver: 'local' });
    return vol;
  }

  /**
   * The volume's directory and record; on a full or read-only disk, a
   * named error and nothing left. Not mkdir's recursive mode: it says
   * ENOENT for a read-only parent.
   */
  private write(vol: Volume): void {
    const dir = join(this.dir, vol.Name);
    try {
      for (const d of [dir, vol.Mountpoint]) {
        try {
          mkdirSync(d, { mode: 0o755 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      writeJson(join(dir, 'volume.json'), vol);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw (err as NodeJS.ErrnoException).syscall ? writeError(dir, err)
        : err;
    }
  }

  find(name: string): Volume | undefined {
    const file = join(this.dir, name, 'volume.json');
    return VOLUME_NAME.test(name) && existsSync(file)
      ? readJson<Volume>(file) : undefined;
  }

  get(name: string): Volume {
    const v = this.find(name);
    if (!v) throw new NotFound(`get ${name}: no such volume`);
    return v;
  }

  list(): Volume[] {
    return readdirSync(this.dir).map((n) => this.find(n))
      .filter((v): v is Volume => !!v);
  }

  /** `inUse` names the containers using it: docker refuses then. */
  remove(name: string, inUse: string[], force = false): void {
    this.get(name);
    if (inUse.length && !force) {
      throw new Conflict(`remove ${name}: volume is in use - ` +
        `[${inUse.join(', ')}]`);
    }
    rmSync(join(this.dir, name), { recursive: true, force: true });
    this.events?.emit('volume', 'destroy', name, { driver: 'local' });
  }

  // #region to-mount
  /**
   * Where a bind or volume of a container (final/binds.ts reads them)
   * comes from on the host: the path of a bind, which must exist, or
   * the directory of a named volume, created on first use.
   */
  source(m: MountSpec): { source: string; volume?: string } {
    if (m.type === 'bind') {
      if (!existsSync(m.source)) {
        throw new BadRequest('invalid mount config for type "bind": ' +
          `bind source path does not exist: ${m.source}`);
      }
      return { source: m.source };
    }
    const vol = this.create(m.source || undefined, m.labels ?? {});
    return { source: vol.Mountpoint, volume: vol.Name };
  }
  // #endregion
}

// #region seed-volume
/**
 * A new volume's first content, as docker gives it: the files the
 * image (with the container's own layer) has at the mount point, with
 * their owners, modes and times, the directory's own included, when
 * the volume is still empty (docker's copyExistingContents). The image
 * is untrusted: its path is opened inside the rootfs (chapter 06's
 * openInRoot, a symlink resolves in there), and cp(1) -a copies links
 * as links, never through them.
 */
export function seedVolume(rootfs: string, destination: string,
  volumeDir: string): void {
  if (readdirSync(volumeDir).length > 0) return;
  let fd: number;
  try {
    fd = openInRoot(rootfs, destination, O_PATH | fsc.O_DIRECTORY);
  } catch {
    return; // nothing there, or not a directory: nothing to copy
  }
  try {
    const r = spawnSync('cp', ['-a', '--', '/proc/self/fd/3/.',
      volumeDir], { stdio: ['ignore', 'ignore', 'pipe', fd],
      encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(`seed volume ${volumeDir} from ${destination}: ` +
        (r.stderr.trim() || r.error?.message));
    }
  } finally {
    closeSync(fd);
  }
}
// #endregion

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
