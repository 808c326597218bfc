// The network state on disk: one JSON file per network holding its
// configuration and its leases (which container has which address and
// host ports). Every read-modify-write happens under one flock(2), so
// twenty `skiff run`s started at once, in twenty processes, never hand
// out the same address twice. The kernel drops the lock when its holder
// dies, so a crashed engine cannot leave a stale lock behind.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  withFileLock, writeAtomic,
} from '../04-aufs-overlay/durable.ts';
import { procStat } from '../02-namespaces/procfs.ts';
import type { PublishedPort } from './ports.ts';

/** A process, identified robustly: pids are reused, start times not. */
export interface ProcessRef { pid: number; start: number }

export interface Lease {
  container: string;
  ip: string;
  hostname: string;
  ports: PublishedPort[];
  /** The engine that made the lease (holds it until attach). */
  owner: ProcessRef;
  /** The container's init, once attached. */
  init?: ProcessRef;
  /** Host end of the veth pair. */
  veth: string;
}

export interface NetworkRecord {
  name: string;
  id: string;
  driver: 'bridge';
  bridge: string;
  subnet: string;
  gateway: string;
  created: string;
  /** `network create --label`: kept, shown by inspect. */
  labels?: Record<string, string>;
  /** The subnet was asked for (--subnet): --ip may pick addresses. */
  userSubnet?: boolean;
  /** The address handed out last: allocation goes round from there. */
  last?: string;
  leases: Record<string, Lease>;
}

// #region with-lock
export class NetStore {
  constructor(readonly dir: string) {}

  /**
   * Runs `fn` holding an exclusive lock on <dir>/lock. `fn` must be
   * synchronous: flock(2) blocks the whole thread, so awaiting inside
   * would deadlock a second start in the same process.
   */
  withLock<T>(fn: () => T): T {
    mkdirSync(join(this.dir, 'networks'), { recursive: true });
    return withFileLock(join(this.dir, 'lock'), fn);
  }
  // #endregion

  private file(name: string): string {
    return join(this.dir, 'networks', `${name}.json`);
  }

  read(name: string): NetworkRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.file(name), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`read network "${name}": ${(err as Error).message}`,
        { cause: err });
    }
  }

  /** Replaces the file atomically: a crash leaves the old or the new. */
  write(rec: NetworkRecord): void {
    writeAtomic(this.file(rec.name), JSON.stringify(rec, null, 2) + '\n');
  }

  remove(name: string): void {
    rmSync(this.file(name), { force: true });
  }

  list(): NetworkRecord[] {
    let names: string[] = [];
    try {
      names = readdirSync(join(this.dir, 'networks'));
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.json')).sort()
      .map((n) => this.read(n.slice(0, -5)))
      .filter((r): r is NetworkRecord => r !== undefined);
  }
}

/** The current process, or `pid`, as a ProcessRef. */
export function processRef(pid = process.pid): ProcessRef {
  return { pid, start: startTime(pid) ?? 0 };
}

/**
 * Field 22 of /proc/PID/stat: start time in clock ticks since boot;
 * undefined for a process that is gone or a zombie (state Z or X),
 * which has exited but is not yet reaped.
 */
function startTime(pid: number): number | undefined {
  const stat = procStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return undefined;
  return stat.startTime;
}

export function isAlive(ref: ProcessRef | undefined): boolean {
  return ref !== undefined && startTime(ref.pid) === ref.start;
}

/** A lease is live while its container's init, or its engine, runs. */
export function leaseIsLive(l: Lease): boolean {
  return l.init ? isAlive(l.init) : isAlive(l.owner);
}
