// Benchmark: `run --rm busybox true`, end to end, in one run, through
// skiff's CLI, through skiff's daemon API alone, through skiff's OCI
// runtime (`skiff-runtime run` of a bundle), and with runc, crun,
// docker and podman where they are installed; plus the daemon's memory
// per idle detached container. Medians, and ratios between them.
//
//   sudo npx tsx bench/run.ts [rounds] [--runtimes]
//
// --runtimes: only the OCI runtimes' rows (skiff-runtime, runc, crun),
// which take seconds, not minutes: for a short quiet moment.
//
// skiff gets an engine of its own (state root, socket, bridge, subnet,
// chains, cgroup parent), removed at the end. skiff-runtime, runc and
// crun run the same busybox rootfs from one bundle; on a cgroup v1 host
// with a cgroup2 mount at /sys/fs/cgroup/unified (the "hybrid" layout)
// crun wrongly takes it for the unified hierarchy, so it runs in a
// private mount namespace where that mount is gone. docker and podman get state of their own
// (bench/engines.ts): a private dockerd where none answers.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { cachedRootfs } from '../chapters/01-chroot/rootfs.ts';
import { procStatus } from '../chapters/02-namespaces/procfs.ts';
import type { StartStep } from '../chapters/02-namespaces/steps.ts';
import { cgroupStep } from '../chapters/03-cgroups/step.ts';
import { networkStep } from '../chapters/05-network/step.ts';
import { REPO, uniqueName } from '../support/testing.ts';
import { FAST_INIT, SpareInits } from '../final/fast/spare.ts';
import { docker, type Engine, podman } from './engines.ts';
import { benchPlace, median, times as timesOf } from './place.ts';
import { startOnce } from './steps.ts';

const ROUNDS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a))
  ?? 20);
const ONLY_RUNTIMES = process.argv.includes('--runtimes');
const place = benchPlace('skiff-bench-', 'skbench');
const { dir, net, cgroupParent, sock, run } = place;
const TSX = import.meta.resolve('tsx/esm');
const loadBefore = loadavg();
/** cgroup v1 with a cgroup2 at /sys/fs/cgroup/unified (crun refuses). */
const hybrid = readFileSync('/proc/self/mountinfo', 'utf8')
  .includes(' /sys/fs/cgroup/unified ');

/** Wall-clock ms of `fn`, ROUNDS times after `warm` runs, `pause` apart. */
const times = (fn: () => unknown, warm = 2, pause = 0) =>
  timesOf(ROUNDS, fn, warm, pause);

const skiff = (...args: string[]) => run(process.execPath,
  ['--import', TSX, join(REPO, 'final/cli.ts'), ...args]);

// #region api-client (unused)
// #region api-request
/** One request to the daemon over its socket, JSON in and out. */
const agent = new http.Agent({ keepAlive: true });
function api(method: string, path: string, body?: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ socketPath: sock, agent, method, path,
      headers: data ? { 'Content-Type': 'application/json' } : {} },
    (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => (res.statusCode ?? 500) >= 400
        ? reject(new Error(`${method} ${path}: ${text}`))
        : resolve(text ? JSON.parse(text) : undefined));
    });
    req.on('error', reject);
    req.end(data);
  });
}
// #endregion

// #region api-run
/** What `docker run --rm` asks of the daemon, phase by phase. */
const phases = { create: [] as number[], start: [] as number[],
  exit: [] as number[] };
async function apiRun(network = 'default'): Promise<void> {
  const t0 = performance.now();
  const { Id } = await api('POST', '/containers/create', { Image: 'busybox',
    Cmd: ['true'], HostConfig: { AutoRemove: true, NetworkMode: network } });
  const t1 = performance.now();
  const removed = api('POST', `/containers/${Id}/wait?condition=removed`);
  await api('POST', `/containers/${Id}/start`);
  const t2 = performance.now();
  await removed;
  const t3 = performance.now();
  phases.create.push(t1 - t0);
  phases.start.push(t2 - t1);
  phases.exit.push(t3 - t2);
}
// #endregion
// #endregion

/** An OCI bundle running busybox `true` from the read-only rootfs. */
function bundle(): string {
  const b = join(dir, 'bundle');
  run('mkdir', ['-p', b]);
  run('runc', ['spec', '--bundle', b]);
  const spec = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
  spec.root = { path: cachedRootfs(), readonly: true };
  spec.process.args = ['true'];
  spec.process.terminal = false;
  writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
  return b;
}

/**
 * `runtime run` ROUNDS times in one bash loop (bash's EPOCHREALTIME: no
 * process per timestamp); crun in a mount namespace without the hybrid
 * layout's /sys/fs/cgroup/unified. `runtime` is a name on PATH or, for
 * skiff's, the path of its launcher (after `env` options, if any).
 */
function runtimeTimes(runtime: string, b: string): number[] {
  const state = join(dir, `${runtime.replace(/\W/g, '_')}-state`);
  const loop = `for i in $(seq ${ROUNDS + 2}); do t0=$EPOCHREALTIME; ` +
    `${runtime} --root ${state} run --bundle ${b} skb$$-$i >/dev/null ` +
    '|| exit 1; t1=$EPOCHREALTIME; echo "$t0 $t1"; done';
  const pre = runtime === 'crun' && hybrid
    ? 'umount -l /sys/fs/cgroup/unified && ' : '';
  const args = ['--mount', '--propagation', 'private', 'bash', '-c',
    pre + loop];
  const out = run('unshare', args);
  return out.trim().split('\n').slice(2).map((l) => {
    const [a, b2] = l.split(' ').map(Number);
    return (b2 - a) * 1000;
  });
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`])
  .status === 0;

/** skiff's busybox as a docker-archive, for `docker/podman load`. */
function busyboxTar(): string {
  const tar = join(dir, 'busybox.tar');
  if (!existsSync(tar)) skiff('save', '-o', tar, 'busybox');
  return tar;
}

/**
 * docker or podman (an Engine, or the line saying why not): busybox
 * loaded from skiff, then `run --rm --network none busybox true` as
 * users type it, timed from outside; then whatever was started for
 * the bench stops and its state goes.
 */
async function otherEngine(found: Engine | string, fallback: string)
  : Promise<[string, number[] | string]> {
  if (typeof found === 'string') return [fallback, found];
  const e = found;
  const cli = (args: string[]) => run(e.cli, [...e.global, ...args],
    { env: e.env });
  try {
    cli(['load', '-i', busyboxTar()]);
    const r: number[] = [];
    for (let i = 0; i < ROUNDS + 2; i++) {
      const t0 = performance.now();
      cli(['run', '--rm', ...e.runFlags, 'busybox', 'true']);
      r.push(performance.now() - t0);
    }
    return [e.name, r.slice(2)];
  } finally {
    await e.stop();
  }
}

// #region bundled-cli
/**
 * The same CLI bundled into plain JavaScript, as final/skiff.mjs runs it
 * (built into .cache/cli/ by its first run): what `run` costs without
 * tsx compiling TypeScript at every start.
 */
const skiffJs = (...args: string[]) => run(process.execPath,
  [join(REPO, 'final/skiff.mjs'), ...args]);
// #endregion

/**
 * Chapter 02's start in this process, then with chapter 03's cgroup
 * step, then with chapter 05's network step too: which step costs what.
 * Last, without a user namespace, a fresh init against a spare one
 * (the daemon's way: final/fast/spare.ts), which shows what Node's start-up in
 * the init costs.
 */
async function startSteps(): Promise<Record<string, number>> {
  const spares = new SpareInits();
  const secureSpares = new SpareInits(FAST_INIT);
  const variants: [string, () => StartStep[], object?][] = [
    ['namespaces, mounts, pivot_root', () => []],
    ['+ cgroup step', () => [cgroupStep({ parent: cgroupParent })]],
    ['+ network step (bridge)', () => [cgroupStep({ parent: cgroupParent }),
      networkStep({ config: net })]],
    ['no user ns, fresh init', () => [], { userns: false }],
    ['no user ns, spare init', () => [], { userns: false, spares }],
    ['no user ns, fresh init, confined', () => [],
      { userns: false, secure: true }],
    ['no user ns, spare init, confined', () => [],
      { userns: false, spares: secureSpares, secure: true }],
  ];
  const out: Record<string, number> = {};
  let n = 0;
  for (const [name, steps, o] of variants) {
    out[name] = median(await times(async () => {
      await startOnce(`${uniqueName('skb')}${n++}`, steps(), o);
    }));
  }
  await spares.close();
  await secureSpares.close();
  return { ...out, ...confineCost() };
}

/** Medians of bench/confine.ts, each in a process of its own. */
function confineCost(): Record<string, number> {
  const runs = (how: string) => Array.from({ length: Math.min(ROUNDS, 10) },
    () => JSON.parse(run(process.execPath, ['--import', TSX,
      join(REPO, 'bench/confine.ts'), how])));
  const fresh = runs('fresh');
  const spare = runs('spare');
  return {
    'confinement: spec (engine)': median(fresh.map((r) => r.specMs)),
    'confinement: in a fresh init': median(fresh.map((r) => r.initMs)),
    'confinement: in a spare init': median(spare.map((r) => r.initMs)),
  };
}

// #region memory (unused)
/** Resident memory (kB) of a process: VmRSS in /proc/PID/status. */
function rss(pid: number): number {
  return parseInt(procStatus(pid)?.get('VmRSS') ?? '0', 10);
}

/** The daemon's descendants: container processes and anything else. */
function descendants(pid: number): number {
  const kids = (p: number) => readdirSync(`/proc/${p}/task`).flatMap((t) =>
    readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(' ')
      .filter(Boolean).map(Number));
  let n = 0;
  for (let todo = kids(pid); todo.length; n++) {
    const p = todo.pop()!;
    try { todo.push(...kids(p)); } catch { /* exited */ }
  }
  return n;
}

/** The median of a few RSS samples, once the daemon is idle. */
async function quietRss(pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 1500));
  const xs: number[] = [];
  for (let i = 0; i < 7; i++) {
    xs.push(rss(pid));
    await new Promise((r) => setTimeout(r, 200));
  }
  return median(xs);
}

// #region memory-growth
/**
 * The daemon's growth per idle `run -d` (RSS, so V8's heap settles
 * within a few MB: with 40 containers the noise per container is small),
 * and the processes each container adds under the daemon.
 */
async function memory(daemon: number, n = 40) {
  const ids: string[] = [];
  const [before, procs] = [await quietRss(daemon), descendants(daemon)];
  for (let i = 0; i < n; i++) {
    const { Id } = await api('POST', '/containers/create', {
      Image: 'busybox', Cmd: ['sleep', '3600'] });
    await api('POST', `/containers/${Id}/start`);
    ids.push(Id);
  }
  const after = await quietRss(daemon);
  const result = { perContainerKB: (after - before) / n,
    processesPerContainer: (descendants(daemon) - procs) / n, n };
  for (const id of ids) await api('DELETE', `/containers/${id}?force=1`);
  return result;
}
// #endregion
// #endregion

/** skiff-runtime, runc and crun: `run` of one bundle each. */
function runtimeRows(): [string, number[] | string][] {
  const b = bundle();
  // skiff's OCI runtime (final/skiff-runtime), as containerd calls it.
  const skiffRt = join(REPO, 'final/skiff-runtime');
  const rows: [string, number[] | string][] = [['skiff-runtime run ' +
    '(no network)', runtimeTimes(skiffRt, b)]];
  // Node reads and parses this whole CA file at every start (Debian's
  // bundle: tens of ms); a shell may set it, containerd's service not.
  if (process.env.NODE_EXTRA_CA_CERTS) {
    rows.push(['skiff-runtime, no NODE_EXTRA_CA_CERTS',
      runtimeTimes(`env -u NODE_EXTRA_CA_CERTS ${skiffRt}`, b)]);
  }
  for (const rt of ['runc', 'crun']) {
    rows.push([`${rt} run (no network)`, has(rt) ? runtimeTimes(rt, b)
      : 'not installed (apt-get install runc crun)']);
  }
  return rows;
}

async function main(): Promise<void> {
  if (ONLY_RUNTIMES) {
    const node = median(await times(() => run(process.execPath,
      ['-e', '0'])));
    table(runtimeRows());
    console.log(`\nnode -e 0: ${node.toFixed(1)} ms`);
    return;
  }
  const rows: [string, number[] | string][] = [];
  skiff('version'); // starts the daemon
  const daemon = Number(readFileSync(join(dir, 'root', 'daemon.pid'),
    'utf8'));
  const startup = {
    node: median(await times(() => run(process.execPath, ['-e', '0']))),
    tsx: median(await times(() => run(process.execPath, ['--import', TSX,
      '-e', '0']))),
    ping: median(await times(() => skiff('version'))),
    pingJs: median(await times(() => skiffJs('version'))),
    psJs: median(await times(() => skiffJs('ps'))),
  };
  rows.push(['skiff CLI (bridge network)', await times(() =>
    skiff('run', '--rm', 'busybox', 'true'))]);
  rows.push(['skiff CLI (--network none)', await times(() =>
    skiff('run', '--rm', '--network', 'none', 'busybox', 'true'))]);
  rows.push(['skiff.mjs, bundled (bridge)', await times(() =>
    skiffJs('run', '--rm', 'busybox', 'true'))]);
  rows.push(['skiff.mjs, bundled (none)', await times(() =>
    skiffJs('run', '--rm', '--network', 'none', 'busybox', 'true'))]);
  rows.push(['skiff daemon API (bridge)', await times(() => apiRun())]);
  const bridged = { ...phases };
  for (const k of Object.keys(phases) as (keyof typeof phases)[]) {
    phases[k] = [];
  }
  rows.push(['skiff daemon API (none)', await times(() => apiRun('none'))]);
  // Back to back, the next run comes before the daemon's spare init has
  // started up (spare.ts); a user or a script leaves it the time.
  rows.push(['skiff daemon API (bridge), 0.2 s apart', await times(() =>
    apiRun(), 2, 200)]);
  rows.push(['skiff daemon API (none), 0.2 s apart', await times(() =>
    apiRun('none'), 2, 200)]);
  const steps = await startSteps();
  rows.push(...runtimeRows());
  rows.push(await otherEngine(await docker(place), 'docker run --rm'));
  rows.push(await otherEngine(podman(place, hybrid), 'podman run --rm'));
  const mem = await memory(daemon);
  report(rows, startup, bridged, mem, steps);
}

/** The table: each row's median and min, and ratios to runc and crun. */
function table(rows: [string, number[] | string][]): void {
  const med = (name: string) => {
    const r = rows.find(([n]) => n.startsWith(name))?.[1];
    return Array.isArray(r) ? median(r) : undefined;
  };
  const [runc, crun] = [med('runc'), med('crun')];
  const ratio = (x: number, base?: number) => base ? `${(x / base)
    .toFixed(1)}x` : '-';
  console.log(`run --rm busybox true, ${ROUNDS} rounds, medians (ms); ` +
    `load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} ` +
    `before, ${loadavg().map((l) => l.toFixed(1)).join(' ')} after\n`);
  console.log(`${'what'.padEnd(40)}${'median'.padStart(8)}` +
    `${'min'.padStart(8)}${'vs runc'.padStart(9)}${'vs crun'.padStart(9)}`);
  for (const [name, r] of rows) {
    if (!Array.isArray(r)) {
      console.log(`${name.padEnd(40)}  ${r}`);
      continue;
    }
    const m = median(r);
    console.log(`${name.padEnd(40)}${m.toFixed(1).padStart(8)}` +
      `${Math.min(...r).toFixed(1).padStart(8)}` +
      `${ratio(m, runc).padStart(9)}${ratio(m, crun).padStart(9)}`);
  }
}

function report(rows: [string, number[] | string][],
  startup: Record<string, number>, bridged: typeof phases,
  mem: { perContainerKB: number; processesPerContainer: number;
    n: number },
  steps: Record<string, number>): void {
  table(rows);
  console.log('\nwhere the CLI\'s time goes (medians, ms)');
  console.log(`  node -e 0                    ${startup.node.toFixed(1)}`);
  console.log(`  node --import tsx -e 0       ${startup.tsx.toFixed(1)}`);
  console.log(`  skiff version (start + ping) ${startup.ping.toFixed(1)}`);
  console.log(`  skiff.mjs version             ${startup.pingJs.toFixed(1)}`);
  console.log(`  skiff.mjs ps                  ${startup.psJs.toFixed(1)}`);
  console.log('where the daemon\'s time goes (bridge network, ms)');
  console.log(`  POST create                  ${median(bridged.create)
    .toFixed(1)}`);
  console.log(`  POST start                   ${median(bridged.start)
    .toFixed(1)}`);
  console.log(`  run, exit, remove            ${median(bridged.exit)
    .toFixed(1)}`);
  console.log('chapter 02\'s start in-process, run to exit (ms)');
  for (const [name, ms] of Object.entries(steps)) {
    console.log(`  ${name.padEnd(31)}${ms.toFixed(1)}`);
  }
  console.log(`\ndaemon memory per idle detached container: ${
    (mem.perContainerKB / 1024).toFixed(2)} MB (RSS growth over ${mem.n})`);
  console.log(`processes per container, its own included: ${
    mem.processesPerContainer.toFixed(2)}`);
}

main().catch((err) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exitCode = 1;
}).finally(() => {
  agent.destroy();
  place.cleanUp();
});
