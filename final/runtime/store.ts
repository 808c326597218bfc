// What skiff-runtime keeps of a container between its commands: one
// directory per container under --root (runc's /run/runc), holding
// state.json and, from create to start, exec.fifo. Each command is a
// new process; the kernel keeps the rest (the process, its cgroup).
import {
  chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync,
} from 'node:fs';
import { join } from 'node:path';
import { procStat } from '../../chapters/02-namespaces/procfs.ts';
import type { Spec } from '../../chapters/02-namespaces/spec.ts';
import { openCgroup } from '../../chapters/03-cgroups/cgroups/manager.ts';
import { writeAtomic } from '../../chapters/04-aufs-overlay/durable.ts';
import type { Hooks } from './bundle.ts';

export const DEFAULT_ROOT = '/run/skiff-runtime';
export const OCI_VERSION = '1.0.2';

export type Status = 'creating' | 'created' | 'running' | 'paused'
  | 'stopped';

/** state.json: what create learned, for the commands after it. */
export interface Saved {
  id: string;
  bundle: string;
  /** Host pid of the container's process (its init until start). */
  pid: number;
  /** Field 22 of /proc/PID/stat: a pid reused later is not ours. */
  startTime: number;
  /** RFC 3339, as runc's list shows it. */
  created: string;
  annotations: Record<string, string>;
  /** The cgroup path, inside the hierarchies. */
  cgroup: string;
  /** The spec as create ran it (exec takes its defaults from it). */
  spec: Spec;
  hooks: Hooks;
}

/** The state the OCI runtime spec defines (runtime.md "State"). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: Status;
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
}

export class RuntimeError extends Error {}

/** Container ids as runc takes them: no path tricks in a directory name. */
const ID = /^[\w+\-.]+$/;

export class Store {
  constructor(readonly root: string) {}

  dir(id: string): string {
    if (!ID.test(id) || id === '.' || id === '..') {
      throw new RuntimeError(`invalid container id "${id}"`);
    }
    return join(this.root, id);
  }

  fifo(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Makes the container's directory; an existing one is an error. */
  claim(id: string): string {
    const dir = this.dir(id);
    // 0711, as runc's: root of a container's user namespace, a host
    // uid of its own, must reach exec.fifo (but not list anything).
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const { mode } = statSync(this.root);
    if ((mode & 0o011) !== 0o011) {
      chmodSync(this.root, (mode & 0o7777) | 0o011);
    }
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      throw new RuntimeError(`container with id exists: ${id}`);
    }
    return dir;
  }

  save(s: Saved): void {
    writeAtomic(join(this.dir(s.id), 'state.json'), JSON.stringify(s));
  }

  load(id: string): Saved {
    const file = join(this.dir(id), 'state.json');
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Saved;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new RuntimeError(`container "${id}" does not exist`,
          { cause: err });
      }
      throw new RuntimeError(`read state of container "${id}": ${
        (err as Error).message}`, { cause: err });
    }
  }

  forget(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Ids of the containers with a state.json. */
  ids(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return [];
    }
    return names.filter((n) => ID.test(n) &&
      existsSync(join(this.root, n, 'state.json'))).sort();
  }

  // #region status
  /**
   * Where a container is in its life, asked of the kernel each time, as
   * runc does: stopped once its process is gone (a zombie is gone: only
   * its parent's wait(2) is left); created while the init still holds
   * exec.fifo; paused while its cgroup is frozen.
   */
  status(s: Saved): Status {
    if (!alive(s.pid, s.startTime)) return 'stopped';
    if (existsSync(this.fifo(s.id))) return 'created';
    try {
      const frozen = openCgroup(s.cgroup).state();
      if (frozen === 'frozen' || frozen === 'freezing') return 'paused';
    } catch { /* no freezer: not paused */ }
    return 'running';
  }
  // #endregion

  ociState(s: Saved, status = this.status(s)): OciState {
    return {
      ociVersion: OCI_VERSION, id: s.id, status,
      pid: status === 'stopped' ? 0 : s.pid,
      bundle: s.bundle, annotations: s.annotations,
    };
  }

  /** When the directory was made, for list when state.json lacks it. */
  createdAt(id: string): Date {
    return statSync(this.dir(id)).mtime;
  }
}

export function alive(pid: number, startTime: number): boolean {
  const st = pid > 0 ? procStat(pid) : undefined;
  return !!st && st.startTime === startTime && st.state !== 'Z' &&
    st.state !== 'X';
}
