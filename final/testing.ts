// What the engine's end-to-end test files share: waiting for a
// condition, the cgroups made below a test's cgroup parent, and the
// removal of whatever a test engine left on the host.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import {
  closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync,
  rmSync, writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetConfig } from '../chapters/05-network/networks.ts';
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

/** The docker CLI on PATH, or '' (skiff does not need one). */
export const DOCKER = spawnSync('sh', ['-c', 'command -v docker'],
  { encoding: 'utf8' }).stdout.trim();

/** How long one command may take (the emulated VM is ten times slower). */
export const TIMEOUT = VM ? 600_000 : 60_000;

/**
 * A private engine for one test file: its own root, socket, bridge,
 * subnet, chains and cgroup parent, driven through the CLI as a user
 * types it (or docker's CLI, through DOCKER_HOST). `stop()` removes
 * everything it made and returns the mounts it found left (a test
 * asserts there were none).
 */
export class TestEngine {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly cfg: NetConfig;
  readonly cgroupParent: string;
  private daemon = 0;

  /** `prefix` names the temp dir and the cgroup parent. */
  constructor(prefix = 'sk-e', extra: Record<string, string> = {}) {
    // In the VM, overlayfs needs its layers on the tmpfs there.
    this.dir = mkdtempSync(join(VM ? '/var/lib/skiff' : tmpdir(),
      `${prefix}-`));
    this.cfg = testConfig();
    this.cgroupParent = `/${uniqueName(prefix.replace(/\W/g, ''))}`;
    this.env = { ...configEnv(this.cfg), ...NO_HUB, ...extra,
      SKIFF_ROOT: this.root, SKIFF_SOCK: this.sock,
      SKIFF_CGROUP_PARENT: this.cgroupParent,
      DOCKER_HOST: `unix://${this.sock}`, DOCKER_CLI_HINTS: 'false',
      // docker keeps its config (and contexts) here, not in ~/.docker
      DOCKER_CONFIG: join(this.dir, 'docker-config') };
    delete this.env.DOCKER_CONTEXT;
  }

  get root(): string { return join(this.dir, 'root'); }
  get sock(): string { return join(this.dir, 'skiff.sock'); }

  /** `skiff ARGS...`; the first call starts a daemon when none runs. */
  sk(args: string[], input?: string | Buffer,
    extra: Record<string, string> = {}): Out {
    return this.spawn(process.execPath, ['--import', TSX,
      join(REPO, 'final/cli.ts'), ...args], input, extra);
  }

  /** `docker ARGS...` against this engine's socket. */
  docker(args: string[], input?: string): Out {
    return this.spawn(DOCKER, args, input);
  }

  private spawn(cmd: string, args: string[], input?: string | Buffer,
    extra: Record<string, string> = {}): Out {
    const r = spawnSync(cmd, args, { cwd: this.dir,
      env: { ...this.env, ...extra }, input, encoding: 'utf8',
      timeout: TIMEOUT, maxBuffer: 1 << 26 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** `docker ARGS...` must succeed; returns its stdout. */
  dockerOk(...args: string[]): string {
    const r = this.docker(args);
    assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /**
   * METHOD `path` on this engine's socket, as any API client may send
   * it: `body` as JSON (none: no body, no Content-Type). The answer's
   * status and text.
   */
  api(method: string, path: string, body?: unknown)
    : Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      // a connection of its own: the daemon may close a kept-alive one
      const req = request({ socketPath: this.sock, method, path,
        agent: false, headers: body === undefined ? {}
          : { 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0,
          body: text }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** `skiff ARGS...` in the background, for commands that block. */
  skAsync(args: string[]): Promise<Out> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', TSX,
        join(REPO, 'final/cli.ts'), ...args], { cwd: this.dir,
        env: this.env, timeout: VM ? 600_000 : 120_000 });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
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
    assert.equal(r.status, code, `skiff ${args.join(' ')}: ${r.stdout}` +
      r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }

  /**
   * Starts `skiff daemon FLAGS...` in the background (its output in
   * daemon.log) and waits until it answers. The CLI would start a
   * daemon of its own when the socket does not answer, so it is asked
   * only once this one has bound the socket.
   */
  async startDaemon(...flags: string[]): Promise<void> {
    const log = openSync(join(this.dir, 'daemon.log'), 'a');
    const child = spawn(process.execPath, ['--import', TSX,
      join(REPO, 'final/cli.ts'), 'daemon', ...flags],
    { env: this.env, stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    child.unref();
    this.daemon = child.pid!;
    // A fresh root seeds busybox first: minutes in the emulated VM.
    await waitFor('the daemon', () => existsSync(this.sock) &&
      this.sk(['version']).status === 0, TIMEOUT);
  }

  /** The running daemon's pid (from its pid file), or 0. */
  daemonPid(): number {
    try {
      return Number(readFileSync(join(this.root, 'daemon.pid'), 'utf8'));
    } catch {
      return this.daemon;
    }
  }

  /** Removes the containers, stops the daemon, removes what it made. */
  stop(): string[] {
    if (!existsSync(this.dir)) return [];
    try {
      const ids = this.sk(['ps', '-aq']).stdout.split('\n')
        .filter(Boolean);
      if (ids.length) this.sk(['rm', '-f', ...ids]);
    } catch { /* not started, or gone */ }
    for (const pid of new Set([this.daemonPid(), this.daemon])) {
      if (!pid) continue;
      try { process.kill(pid, 'SIGTERM'); } catch { continue; }
      // Our own child stays a zombie (kill -0 succeeds on it) until
      // this process, blocked here, gets to reap it: gone too.
      spawnSync('sh', ['-c', `while kill -0 ${pid} && ! grep -q ') Z ' ` +
        `/proc/${pid}/stat; do sleep 0.1; done`], { timeout: 20_000 });
    }
    try { dropConfig(this.cfg); } catch { /* removed below */ }
    return removeEngineLeftovers(this.dir, this.cgroupParent);
  }
}
// #endregion

/** Debian's docker-registry (the distribution project's registry). */
export const REGISTRY = '/usr/bin/docker-registry';

/** A free TCP port on 127.0.0.1 (the kernel's pick, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A registry a test started, and how to stop it. */
export interface LocalRegistry {
  /** "127.0.0.1:PORT" */
  addr: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * docker-registry on 127.0.0.1 on a free port, its storage, config and
 * log in `dir`; resolves once /v2/ answers.
 */
export async function startRegistry(dir: string): Promise<LocalRegistry> {
  const addr = `127.0.0.1:${await freePort()}`;
  const config = join(dir, 'registry.yml');
  writeFileSync(config, ['version: 0.1', 'log:', '  level: error',
    'storage:', '  filesystem:', `    rootdirectory: ${dir}/registry`,
    'http:', `  addr: ${addr}`, ''].join('\n'));
  const log = openSync(join(dir, 'registry.log'), 'a');
  const child = spawn(REGISTRY, ['serve', config],
    { stdio: ['ignore', log, log] });
  closeSync(log);
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return resolve();
    }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  let up = false;
  const poll = () => void fetch(`http://${addr}/v2/`)
    .then((r) => { up = r.ok; }, () => {});
  try {
    await waitFor('docker-registry', () => { poll(); return up; }, TIMEOUT);
  } catch (err) {
    await stop();
    throw err;
  }
  return { addr, process: child, stop };
}
