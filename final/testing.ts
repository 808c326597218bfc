// What the engine's end-to-end test files share: waiting for a
// condition, the cgroups made below a test's cgroup parent, and the
// removal of whatever a test engine left on the host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hostMounts } from '../support/testing.ts';

/** Polls `cond` every 100 ms; fails naming `what` after `ms`. */
export async function waitFor(what: string, cond: () => boolean,
  ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The cgroup directories below `parent`, in every hierarchy. */
export function cgroupsBelow(parent: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        out.push(join(d, e.name));
        walk(join(d, e.name));
      }
    }
  };
  for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
    walk(join('/sys/fs/cgroup', h, parent));
  }
  return out.sort();
}

/**
 * After a test engine stopped: unmounts what is still mounted under
 * `dir`, removes `dir` and the cgroup parent in every hierarchy.
 * Returns the mounts it had to remove (a test asserts there were none).
 */
export function removeEngineLeftovers(dir: string, parent: string)
  : string[] {
  const left = hostMounts().filter((m) => m.startsWith(dir));
  for (const m of [...left].reverse()) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
  for (const d of cgroupsBelow(parent).reverse()) spawnSync('rmdir', [d]);
  for (const c of readdirSync('/sys/fs/cgroup')) {
    spawnSync('rmdir', [join('/sys/fs/cgroup', c, parent)]);
  }
  spawnSync('rmdir', [join('/sys/fs/cgroup', parent)]);
  return left;
}

/**
 * Docker Hub for a test engine: a closed port on loopback, so that a
 * pull of "busybx" fails at once and sends nothing off the host.
 */
export const NO_HUB = { SKIFF_REGISTRY_MIRROR: 'http://127.0.0.1:2' };
