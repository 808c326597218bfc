// Named volumes: directories under <root>/volumes/<name>/_data that
// outlive containers (docker's "local" driver), and the -v parser that
// turns `/host:/ctr:ro`, `name:/ctr` and `/ctr` into OCI mounts.
import { randomBytes } from 'node:crypto';
import {
  existsSync, mkdirSync, readdirSync, rmSync, statSync,
} from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Mount } from '../../chapters/02-namespaces/spec.ts';
import { parseBind, type BindSpec } from '../binds.ts';
import { BadRequest, Conflict, NotFound } from './errors.ts';
import type { Events } from './events.ts';
import { readJson, writeJson } from './state.ts';

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
        '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed');
    }
    const existing = this.find(name);
    if (existing) return existing;
    const vol: Volume = {
      Name: name, Driver: 'local', Mountpoint: join(this.dir, name, '_data'),
      CreatedAt: new Date().toISOString(), Labels: labels, Scope: 'local',
      Options: {},
    };
    mkdirSync(vol.Mountpoint, { recursive: true, mode: 0o755 });
    writeJson(join(this.dir, name, 'volume.json'), vol);
    this.events?.emit('volume', 'create', name, { driver: 'local' });
    return vol;
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
   * One -v value as an OCI mount (final/binds.ts parses it): a host
   * path's bind, or a named volume's, created on first use.
   */
  toMount(bind: string): { mount: Mount; volume?: string } {
    let spec: BindSpec;
    try {
      spec = parseBind(bind);
    } catch (err) {
      throw new BadRequest((err as Error).message, { cause: err });
    }
    const { source: src, destination: dst } = spec;
    const options = ['rbind', 'rprivate', spec.readOnly ? 'ro' : 'rw'];
    if (isAbsolute(src)) {
      if (!existsSync(src)) {
        throw new BadRequest(`invalid mount config: bind source path ` +
          `does not exist: ${src}`);
      }
      return { mount: { destination: dst, type: 'bind', source: src,
        options } };
    }
    const vol = this.create(src || undefined);
    return { mount: { destination: dst, type: 'bind',
      source: vol.Mountpoint, options }, volume: vol.Name };
  }
  // #endregion
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
