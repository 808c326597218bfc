// A test probe: loads a seccomp filter on its main thread, then makes the
// syscalls it is asked for through koffi and prints what each returned.
//
//   node --import tsx seccomp-probe.ts '{"profile":"default",
//     "caps":["CAP_CHOWN"], "calls":["getpid","unshare 0x04000000"]}'
//
// Input (one JSON argument):
//   profile  "default" (skiff's), a path to a Docker-format profile, or
//            absent with `spec` (a LinuxSeccomp) or neither (no filter)
//   caps     the container's capabilities for resolveProfile
//   calls    "name arg..." with numeric arguments (hex allowed)
//   run      argv of a program to spawn after the filter (inherits it)
//   precompiled  compile first, then time seccomp(2) alone
// Output (one JSON line): { times, results: { call: "ok" | errno name },
//   run: { status, signal, stdout, stderr } }
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { errnoName, koffi, plain, syscall }
  from '../../01-chroot/kernel.ts';
import type { LinuxSeccomp } from '../../02-namespaces/spec.ts';
import { compileFilter } from '../bpf.ts';
import { defaultProfile, parseProfile, resolveProfile }
  from '../profile.ts';
import { installFilter, loadSeccomp } from '../seccomp.ts';
import { syscallTable } from '../syscalls.ts';

interface Input {
  profile?: string; caps?: string[]; spec?: LinuxSeccomp;
  calls?: string[]; run?: string[]; noNewPrivs?: boolean;
  precompiled?: boolean;
}

const input = JSON.parse(process.argv[2] ?? '{}') as Input;
const times: Record<string, number> = {};

/** Wall time, and CPU time (which a busy machine does not inflate). */
function timed<T>(name: string, f: () => T): T {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const v = f();
  const cpu = process.cpuUsage(c0);
  times[name] = Number((performance.now() - t0).toFixed(3));
  times[`${name}Cpu`] = (cpu.user + cpu.system) / 1000;
  return v;
}

function resolveSpec(): LinuxSeccomp | undefined {
  if (input.spec) return input.spec;
  if (!input.profile) return undefined;
  const ctx = { caps: input.caps ?? [] };
  if (input.profile === 'default') {
    return timed('resolve', () => resolveProfile(defaultProfile(), ctx));
  }
  const text = readFileSync(input.profile, 'utf8');
  return timed('resolve', () =>
    resolveProfile(parseProfile(text, input.profile!), ctx));
}

const raw = plain<(...a: unknown[]) => number | bigint>(
  'long syscall(long number, ...)');
const table = syscallTable(process.arch);

/** "unshare 0x04000000" -> "ok" or the errno's name. */
function call(spec: string): string {
  const [name, ...args] = spec.split(' ');
  const nr = /^\d+$/.test(name) ? Number(name) : table.get(name);
  if (nr === undefined) return 'no such syscall';
  const typed = args.flatMap((a) => ['long', Number(a)]);
  const ret = raw(nr, ...typed);
  return Number(ret) === -1 ? errnoName(koffi.errno()) : 'ok';
}

const spec = resolveSpec();
if (spec) {
  if (input.noNewPrivs !== false) {
    const prctl = syscall('int prctl(int op, unsigned long a, ' +
      'unsigned long b, unsigned long c, unsigned long d)');
    prctl(38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0);
  }
  if (input.precompiled) {
    // As if the engine had compiled it: only seccomp(2) is timed.
    const program = compileFilter(spec);
    timed('install', () => installFilter(program, spec.flags));
  } else {
    // The first compile runs cold code, as in a fresh init.
    timed('compile', () => compileFilter(spec));
    timed('load', () => loadSeccomp(spec));
  }
}
const results: Record<string, string> = {};
for (const c of input.calls ?? []) results[c] = call(c);
let run;
if (input.run) {
  const r = spawnSync(input.run[0], input.run.slice(1),
    { encoding: 'utf8', timeout: 20_000 });
  run = { status: r.status, signal: r.signal, stdout: r.stdout,
    stderr: r.stderr, error: r.error?.message };
}
process.stdout.write(JSON.stringify({ times, results, run }) + '\n');
