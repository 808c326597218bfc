// What the engine's end-to-end test files share: waiting for a
// condition, the cgroups made below a test's cgroup parent, and the
// removal of whatever a test engine left on the host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync, mkdtempSync, readdirSync, readFileSync, rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetConfig } from '../chapters/05-network/network.ts';
import {
  configEnv, dropConfig, testConfig,
} from '../chapters/05-network/testnet.ts';
import { hostMounts, REPO, uniqueName } from '../support/testing.ts';

const VM = !!process.env.SKIFF_VM; // ten times slower
const TSX = import.meta.resolve('tsx/esm');

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

// #region test-engine (unused)
/** What a command printed and how it ended. */
export interface Out { status: number | null; stdout: string; stderr: string }

/**
 * A private engine for one test file: its own root, socket, bridge,
 * subnet, chains and cgroup parent, driven through the CLI as a user
 * types it. `stop()` removes everything it made and returns the
 * mounts it found left (a test asserts there were none).
 */
export class TestEngine {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly cfg: NetConfig;
  readonly cgroupParent = `/${uniqueName('sksec')}`;

  constructor(extra: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(VM ? '/var/lib/skiff' : tmpdir(), 'sk-e-'));
    this.cfg = testConfig();
    this.env = { ...configEnv(this.cfg), ...NO_HUB, ...extra,
      SKIFF_ROOT: this.root, SKIFF_SOCK: join(this.dir, 'skiff.sock'),
      SKIFF_CGROUP_PARENT: this.cgroupParent };
  }

  get root(): string { return join(this.dir, 'root'); }

  /** `skiff ARGS...`; the first call starts the daemon. */
  sk(args: string[], input?: string): Out {
    const r = spawnSync(process.execPath, ['--import', TSX,
      join(REPO, 'final/cli.ts'), ...args], { cwd: this.dir,
      env: this.env, input, encoding: 'utf8',
      timeout: VM ? 600_000 : 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** The command must succeed; returns its stdout. */
  ok(...args: string[]): string {
    const r = this.sk(args);
    assert.equal(r.status, 0, `skiff ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** Fails with `code` and one line on stderr matching `pattern`. */
  fails(code: number, pattern: RegExp, ...args: string[]): void {
    const r = this.sk(args);
    assert.equal(r.status, code, `skiff ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }

  stop(): string[] {
    try {
      const ids = this.sk(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length) this.sk(['rm', '-f', ...ids]);
      process.kill(Number(readFileSync(join(this.root, 'daemon.pid'),
        'utf8')), 'SIGTERM');
    } catch { /* not started, or gone */ }
    try { dropConfig(this.cfg); } catch { /* removed below */ }
    return removeEngineLeftovers(this.dir, this.cgroupParent);
  }
}
// #endregion
