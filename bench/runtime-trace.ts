// Where `skiff-runtime run` spends its time, from timestamps: strace(1)
// records, with -ttt, when each process of one `run` makes the system
// calls that mark a phase (an execve, an open of a known file, the
// pivot_root), and the phases' medians over the rounds are printed.
//
//   sudo npx tsx bench/runtime-trace.ts [rounds]
//
// strace stops each traced process at each traced call (only these,
// with --seccomp-bpf), so the traced run is slower than an untraced one:
// the first line gives both medians; read the phases as shares of it.
// The bundle is bench/run.ts's: `runc spec`, busybox `true`, read-only.
import { spawnSync } from 'node:child_process';
import {
  mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedRootfs } from '../chapters/01-chroot/rootfs.ts';
import { REPO } from '../support/testing.ts';

const ROUNDS = Number(process.argv[2] ?? 20);
const RUNTIME = join(REPO, 'final/skiff-runtime');
const dir = mkdtempSync(join(tmpdir(), 'skiff-rttrace-'));
const CALLS = 'execve,execveat,openat,mkdir,pivot_root,exit_group';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function bundle(): string {
  const b = join(dir, 'bundle');
  mkdirSync(b);
  spawnSync('runc', ['spec', '--bundle', b], { stdio: 'ignore' });
  const spec = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
  spec.root = { path: cachedRootfs(), readonly: true };
  spec.process.args = ['true'];
  spec.process.terminal = false;
  writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
  return b;
}

interface Line { pid: number; t: number; call: string; text: string }

function parse(file: string): Line[] {
  return readFileSync(file, 'utf8').split('\n').flatMap((l) => {
    const m = /^(\d+) (\d+\.\d+) (\w+)\((.*)$/.exec(l);
    return m ? [{ pid: +m[1], t: +m[2] * 1000, call: m[3], text: m[4] }]
      : [];
  });
}

/**
 * The marks of one traced run, in order: the launcher, the runtime's
 * node, its code, its koffi, the trampoline, the init's node, its code
 * and koffi, its mounts, ready (blocked on exec.fifo), start, the
 * command, its end, the runtime's end.
 */
function marks(lines: Line[]): Record<string, number> {
  if (!lines.length) throw new Error("trace: empty");
  const r = lines[0].pid;
  const find = (pred: (l: Line) => boolean, what: string) => {
    const l = lines.find(pred);
    if (!l) throw new Error(`trace: no ${what}`);
    return l;
  };
  // Node opens some files on threads of its own: -1 is any thread.
  const of = (pid: number, call: string, has = '') => (l: Line) =>
    (pid < 0 || l.pid === pid) && l.call === call && l.text.includes(has);
  const after = (t: number, has: string) => (l: Line) =>
    l.t > t && l.call === 'openat' && l.text.includes(has);
  const tramp = find((l) => l.call === 'execve' &&
    l.text.includes('.cache/nsexec-'), 'trampoline execve');
  const init = find((l) => l.call === 'execveat', 'init execveat');
  const i = init.pid;
  const cmd = find((l) => l.pid === i && l.call === 'execve', 'command');
  return {
    launcher: find(of(r, 'execve', 'skiff-runtime'), 'launcher').t,
    node: find(of(r, 'execve', 'node'), 'node execve').t,
    code: find(of(r, 'openat', 'skiff-runtime.cjs'), 'runtime code').t,
    koffi: find(of(r, 'openat', 'koffi/package.json'), 'koffi').t,
    config: find(of(r, 'openat', 'config.json'), 'config.json').t,
    cgroup: find(of(r, 'mkdir', '/sys/fs/cgroup/'), 'cgroup mkdir').t,
    tramp: tramp.t,
    init: init.t,
    initCode: find(of(-1, 'openat', 'init.mjs'), 'init code').t,
    initKoffi: find(after(init.t, 'koffi/package.json'), 'init koffi').t,
    initKoffiNode: find(after(init.t, 'koffi.node'), 'init koffi.node').t,
    fifoPath: find(of(i, 'openat', 'exec.fifo'), 'init exec.fifo').t,
    pivot: find(of(i, 'pivot_root'), 'pivot_root').t,
    ready: find(of(i, 'openat', '/proc/self/fd/'), 'init ready').t,
    start: find((l) => l.call === 'openat' &&
      /exec\.fifo.*O_NONBLOCK/.test(l.text), 'start').t,
    exec: cmd.t,
    exit: find((l) => l.pid === i && l.call === 'exit_group' &&
      l.t > cmd.t, 'command exit').t,
    end: find((l) => l.pid === r && l.call === 'exit_group', 'end').t,
  };
}

const PHASES: [string, string, string][] = [
  ['launcher (#!/usr/bin/env node)', 'launcher', 'node'],
  ['runtime: node start-up', 'node', 'code'],
  ['runtime: bundle loaded (v8 cache)', 'code', 'koffi'],
  ['runtime: koffi load', 'koffi', 'config'],
  ['create: config.json to cgroup', 'config', 'cgroup'],
  ['create: cgroup, init bundle check', 'cgroup', 'tramp'],
  ['trampoline (nsexec: clone, unshare)', 'tramp', 'init'],
  ['init: node start-up', 'init', 'initCode'],
  ['init: bundle to koffi', 'initCode', 'initKoffi'],
  ['init: koffi load', 'initKoffi', 'initKoffiNode'],
  ['init: koffi.node, config, barrier', 'initKoffiNode', 'fifoPath'],
  ['init: mounts to pivot_root', 'fifoPath', 'pivot'],
  ['init: after pivot_root to ready', 'pivot', 'ready'],
  ['ready to start (create returns)', 'ready', 'start'],
  ['start to the command\'s execve', 'start', 'exec'],
  ['the command (true)', 'exec', 'exit'],
  ['wait, delete, exit', 'exit', 'end'],
];

function runOnce(b: string, n: number, traced: boolean): number {
  const out = join(dir, `trace-${n}`);
  const args = ['--root', join(dir, 'state'), 'run', '--bundle', b,
    `rtt${process.pid}-${n}`];
  const t0 = performance.now();
  const r = traced
    ? spawnSync('strace', ['-f', '-ttt', '--seccomp-bpf', '-e',
      `trace=${CALLS}`, '-o', out, RUNTIME, ...args], { stdio: 'ignore' })
    : spawnSync(RUNTIME, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`run ${n}: exit ${r.status}`);
  return performance.now() - t0;
}

function main(): void {
  const b = bundle();
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  const plain: number[] = [];
  const traced: number[] = [];
  const all: Record<string, number>[] = [];
  const missed: string[] = [];
  for (let n = 0; n < ROUNDS + 2; n++) {
    const p = runOnce(b, 2 * n, false);
    const t = runOnce(b, 2 * n + 1, true);
    if (n < 2) continue;
    plain.push(p);
    traced.push(t);
    try {
      all.push(marks(parse(join(dir, `trace-${2 * n + 1}`))));
    } catch (err) {
      missed.push((err as Error).message);
    }
  }
  if (missed.length) console.log(`traces left out: ${missed.join(', ')}`);
  console.log(`skiff-runtime run, busybox true, ${ROUNDS} rounds; load ` +
    `${load} before, ${loadavg().map((l) => l.toFixed(1)).join(' ')} ` +
    `after\nuntraced median ${median(plain).toFixed(1)} ms, traced ` +
    `${median(traced).toFixed(1)} ms (from strace's first to last ` +
    `mark ${median(all.map((m) => m.end - m.launcher)).toFixed(1)})\n`);
  for (const [name, from, to] of PHASES) {
    const ms = median(all.map((m) => m[to] - m[from]));
    console.log(`  ${name.padEnd(40)}${ms.toFixed(1).padStart(7)}`);
  }
}

try {
  main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
