// What bench/run.ts and bench/build.ts share: skiff's engine of their
// own (state root, socket, bridge, subnet, chains and cgroup parent,
// all removed at the end), running commands against it, and timing.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetConfig } from '../chapters/05-network/networks.ts';
import { configEnv, dropConfig, testConfig } from
  '../chapters/05-network/testnet.ts';
import { removeEngineLeftovers } from '../final/testing.ts';
import { uniqueName } from '../support/testing.ts';
import type { Place } from './engines.ts';

/** A benchmark's engine: where it lives, and its daemon's socket. */
export interface BenchPlace extends Place {
  net: NetConfig;
  sock: string;
  env: Record<string, string>;
  /** Runs a command with the engine's env; its stdout, or throws. */
  run(cmd: string, args: string[], opts?: SpawnSyncOptions): string;
  /** Stops the daemon and removes all the engine made. */
  cleanUp(): void;
}

/** An engine in a new temp dir `dirPrefix`, its cgroup parent `name`. */
export function benchPlace(dirPrefix: string, name: string): BenchPlace {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const net = testConfig();
  const cgroupParent = `/${uniqueName(name)}`;
  const sock = join(dir, 'skiff.sock');
  const env = { ...configEnv(net), SKIFF_ROOT: join(dir, 'root'),
    SKIFF_SOCK: sock, SKIFF_CGROUP_PARENT: cgroupParent };
  return { dir, net, cgroupParent, sock, env,
    run(cmd, args, opts = {}) {
      const r = spawnSync(cmd, args, { encoding: 'utf8', env,
        maxBuffer: 1 << 26, ...opts });
      if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
      }
      return String(r.stdout);
    },
    cleanUp() {
      try {
        process.kill(Number(readFileSync(join(dir, 'root', 'daemon.pid'),
          'utf8')), 'SIGTERM');
      } catch { /* not started */ }
      dropConfig(net);
      removeEngineLeftovers(dir, cgroupParent);
    } };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Wall-clock milliseconds of `fn`, `rounds` times after `warm` runs,
 * with `pause` ms of idle time (not timed) after each run.
 */
export async function times(rounds: number, fn: () => unknown, warm = 2,
  pause = 0): Promise<number[]> {
  for (let i = 0; i < warm; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
    if (pause) await new Promise((r) => setTimeout(r, pause));
  }
  return out;
}
