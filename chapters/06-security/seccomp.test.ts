// seccomp-bpf: profiles in Docker's format, the compiled filter, and what
// the kernel does with it. Kernel tests run a probe process (a bundle of
// testing/seccomp-probe.ts run by plain node) that loads a filter on its
// main thread and reports the errno of each syscall it then makes.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initBundlePath } from '../02-namespaces/build.ts';
import type { LinuxSeccomp } from '../02-namespaces/spec.ts';
import { needsRoot, tempDir } from '../../support/testing.ts';
import { compileFilter, decode, MAX_INSNS } from './bpf.ts';
import {
  defaultProfile, parseProfile, resolveProfile, type DockerProfile,
} from './profile.ts';
import { installFilter, loadSeccomp } from './seccomp.ts';
import {
  AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, syscallTable,
} from './syscalls.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const PODMAN = '/usr/share/containers/seccomp.json';
const DOCKER_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID',
  'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT',
  'CAP_KILL', 'CAP_AUDIT_WRITE'];
const ALL_CAPS = [...DOCKER_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE',
  'CAP_SYS_TIME', 'CAP_SYS_BOOT', 'CAP_SYS_MODULE', 'CAP_SYSLOG',
  'CAP_SYS_NICE', 'CAP_SYS_PACCT', 'CAP_SYS_RAWIO', 'CAP_BPF',
  'CAP_PERFMON', 'CAP_DAC_READ_SEARCH', 'CAP_SYS_TTY_CONFIG'];

// ------------------------------------------------------------- the probe

interface ProbeInput {
  profile?: string; caps?: string[]; spec?: LinuxSeccomp;
  calls?: string[]; run?: string[];
}
interface ProbeOutput {
  times: Record<string, number>;
  results: Record<string, string>;
  run?: { status: number | null; signal: string | null; stdout: string;
    stderr: string };
}

let probePath: string | undefined;

function probe(input: ProbeInput): { out?: ProbeOutput;
  signal: string | null; stderr: string } {
  probePath ??= initBundlePath(join(HERE, 'testing/seccomp-probe.ts'));
  const r = spawnSync(process.execPath, [probePath, JSON.stringify(input)],
    { encoding: 'utf8', timeout: 30_000 });
  const line = r.stdout.trim().split('\n').pop();
  return { out: line ? JSON.parse(line) : undefined, signal: r.signal,
    stderr: r.stderr };
}

function results(input: ProbeInput): Record<string, string> {
  const r = probe(input);
  assert.ok(r.out, `probe failed: ${r.signal ?? ''} ${r.stderr}`);
  return r.out.results;
}

// ------------------------------------------------------------ profiles

function profileError(text: string): string {
  try {
    parseProfile(text, 'x.json');
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

describe('parseProfile', () => {
  const ok = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] };
  const rule = (r: object) => JSON.stringify({ ...ok, syscalls: [
    { names: ['read'], action: 'SCMP_ACT_ALLOW' },
    { names: ['write'], action: 'SCMP_ACT_ALLOW', ...r }] });
  const cases: [string, string, string][] = [
    ['not JSON', '{"defaultAction":', 'invalid JSON: '],
    ['not an object', '[]', ': not a JSON object'],
    ['no default action', '{}', 'defaultAction: missing or not a string'],
    ['unknown default', '{"defaultAction":"SCMP_ACT_NOPE"}',
      'defaultAction "SCMP_ACT_NOPE": unknown action'],
    ['unknown action', rule({ action: 'SCMP_ACT_FOO' }),
      'syscalls[1].action "SCMP_ACT_FOO": unknown action'],
    ['notify', rule({ action: 'SCMP_ACT_NOTIFY' }),
      'syscalls[1].action "SCMP_ACT_NOTIFY": not supported'],
    ['unknown op', rule({ args: [{ index: 0, value: 1, op: 'SCMP_CMP_X' }] }),
      'syscalls[1].args[0].op "SCMP_CMP_X": unknown operator'],
    ['arg index', rule({ args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }),
      'syscalls[1].args[0].index 6: not an integer from 0 to 5'],
    ['inexact value', rule({ args: [{ index: 0, value: 2 ** 60,
      op: 'SCMP_CMP_EQ' }] }), 'too large to compare exactly'],
    ['name and names', rule({ name: 'x' }),
      'syscalls[1]: "name" and "names" both given'],
    ['no names', JSON.stringify({ ...ok, syscalls: [{ action:
      'SCMP_ACT_ALLOW' }] }), 'syscalls[0]: no "names"'],
    ['names not a list', rule({ names: 'read' }),
      'syscalls[1].names: not a list of names'],
    ['errnoRet', rule({ errnoRet: -1 }), 'syscalls[1].errnoRet -1'],
    ['unknown arch', JSON.stringify({ ...ok,
      architectures: ['SCMP_ARCH_Z80'] }),
    'architectures[0] "SCMP_ARCH_Z80": unknown architecture'],
    ['both arch forms', JSON.stringify({ ...ok, architectures: [],
      archMap: [] }), '"architectures" and "archMap" both given'],
    ['unknown sub-arch', JSON.stringify({ ...ok, archMap: [{ architecture:
      'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_NOPE'] }] }),
    'archMap[0].subArchitectures[0] "SCMP_ARCH_NOPE": unknown architecture'],
    ['includes arch', rule({ includes: { arches: ['amd65'] } }),
      'syscalls[1].includes.arches[0] "amd65": unknown architecture'],
    ['minKernel', rule({ excludes: { minKernel: 'new' } }),
      'syscalls[1].excludes.minKernel "new": not a kernel version'],
    ['unknown flag', JSON.stringify({ ...ok, flags: ['SECCOMP_FLAG_X'] }),
      'flags[0] "SECCOMP_FLAG_X": unknown flag'],
    ['TSYNC', JSON.stringify({ ...ok, flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }),
      'flags[0] "SECCOMP_FILTER_FLAG_TSYNC": not supported'],
  ];
  for (const [what, text, cause] of cases) {
    it(`refuses ${what} in one line naming the cause`, () => {
      const msg = profileError(text);
      assert.ok(msg.startsWith('seccomp profile "x.json": '), msg);
      assert.ok(msg.includes(cause), `${msg}\n  wanted: ${cause}`);
      assert.equal(msg.split('\n').length, 1);
      assert.equal(msg, msg.replace(/^[A-Z]/, (c) => c.toLowerCase()));
    });
  }

  it('reads the old single "name" and ignores unknown keys', () => {
    const p = parseProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrno: 'EPERM', syscalls: [{ name: 'read',
        action: 'SCMP_ACT_ALLOW' }] }), 'old.json');
    const s = resolveProfile(p, { caps: [] });
    assert.deepEqual(s.syscalls, [{ names: ['read'],
      action: 'SCMP_ACT_ALLOW' }]);
  });

  it('reads skiff\'s default profile', () => {
    const p = defaultProfile();
    assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(p.defaultErrnoRet, 1);
  });
});

/** Every syscall name a resolved profile allows without conditions. */
function allowed(s: LinuxSeccomp): Set<string> {
  return new Set((s.syscalls ?? []).filter((r) =>
    r.action === 'SCMP_ACT_ALLOW' && !r.args?.length)
    .flatMap((r) => r.names));
}

describe('resolveProfile', () => {
  const p = defaultProfile();

  it('allows mount, unshare and setns only with CAP_SYS_ADMIN', () => {
    const plain = allowed(resolveProfile(p, { caps: DOCKER_CAPS }));
    const admin = allowed(resolveProfile(p,
      { caps: [...DOCKER_CAPS, 'CAP_SYS_ADMIN'] }));
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone3']) {
      assert.ok(!plain.has(name), `${name} allowed without SYS_ADMIN`);
      assert.ok(admin.has(name), `${name} refused with SYS_ADMIN`);
    }
    assert.ok(plain.has('chroot'), 'CAP_SYS_CHROOT is among docker\'s 14');
    assert.ok(!allowed(resolveProfile(p, { caps: [] })).has('chroot'));
    // Names without the prefix, any case, as --cap-add takes them.
    assert.ok(allowed(resolveProfile(p, { caps: ['sys_ptrace'] }))
      .has('ptrace'));
  });

  it('never allows the calls docker documents as dangerous', () => {
    const all = allowed(resolveProfile(p, { caps: DOCKER_CAPS }));
    const out = ['keyctl', 'add_key', 'request_key', 'open_by_handle_at',
      'kexec_load', 'kexec_file_load', 'init_module', 'finit_module',
      'delete_module', 'reboot', 'swapon', 'swapoff', 'settimeofday',
      'clock_settime', 'adjtimex', 'clock_adjtime', 'mount', 'umount2',
      'pivot_root', 'unshare', 'setns', 'bpf', 'perf_event_open',
      'userfaultfd', 'quotactl', 'acct', 'lookup_dcookie', 'syslog',
      'uselib', 'ustat', 'sysfs', '_sysctl', 'vm86', 'nfsservctl',
      'ptrace', 'fsopen', 'fsmount', 'fsconfig', 'move_mount', 'open_tree',
      'mount_setattr', 'name_to_handle_at', 'io_uring_setup'];
    for (const name of out) assert.ok(!all.has(name), `${name} allowed`);
    const none = allowed(resolveProfile(p, { caps: [] }));
    for (const name of ['read', 'write', 'execve', 'futex', 'epoll_wait']) {
      assert.ok(none.has(name), `${name} refused`);
    }
  });

  it('applies includes and excludes by architecture', () => {
    const x64 = resolveProfile(p, { caps: [], arch: 'x64' });
    const arm = resolveProfile(p, { caps: [], arch: 'arm64' });
    assert.ok(allowed(x64).has('arch_prctl'));
    assert.ok(!allowed(arm).has('arch_prctl'));
    assert.ok(allowed(arm).has('set_tls'));
    assert.deepEqual(x64.architectures,
      ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.deepEqual(arm.architectures,
      ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  });

  it('applies minKernel on the version and major revision only', () => {
    const q: DockerProfile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [
      { names: ['new'], action: 'SCMP_ACT_ALLOW',
        includes: { minKernel: '5.8' } },
      { names: ['old'], action: 'SCMP_ACT_ALLOW',
        excludes: { minKernel: '5.8' } }] };
    const names = (kernel: string) => [...allowed(
      resolveProfile(q, { caps: [], kernel }))];
    assert.deepEqual(names('5.8.0-1-amd64'), ['new']);
    assert.deepEqual(names('5.10'), ['new']);
    assert.deepEqual(names('6.1.0'), ['new']);
    assert.deepEqual(names('5.7.19'), ['old']);
    assert.deepEqual(names('4.19.0'), ['old']);
  });

  it('needs every capability an include lists, any one excludes', () => {
    const q: DockerProfile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [
      { names: ['both'], action: 'SCMP_ACT_ALLOW',
        includes: { caps: ['CAP_A', 'CAP_B'] } },
      { names: ['neither'], action: 'SCMP_ACT_ALLOW',
        excludes: { caps: ['CAP_A', 'CAP_B'] } }] };
    const names = (caps: string[]) =>
      [...allowed(resolveProfile(q, { caps }))];
    assert.deepEqual(names(['CAP_A']), []);
    assert.deepEqual(names(['CAP_A', 'CAP_B']), ['both']);
    assert.deepEqual(names([]), ['neither']);
  });
});

// ------------------------------------------------------------- compile

describe('compileFilter', () => {
  it('starts with the architecture check and fits the kernel', () => {
    for (const caps of [[], DOCKER_CAPS]) {
      const buf = compileFilter(resolveProfile(defaultProfile(), { caps }),
        'x64');
      assert.equal(buf.length % 8, 0);
      const prog = decode(buf);
      assert.ok(prog.length < MAX_INSNS, `${prog.length} instructions`);
      // ld [4] (seccomp_data.arch), then jeq AUDIT_ARCH_X86_64.
      assert.deepEqual(prog[0], { code: 0x20, jt: 0, jf: 0, k: 4 });
      assert.equal(prog[1].k, AUDIT_ARCH_X86_64);
      // The last instruction of every path is a return.
      assert.equal(prog.at(-1)!.code, 0x06);
    }
  });

  it('compiles for aarch64 with its own numbers', () => {
    const s = resolveProfile(defaultProfile(), { caps: [], arch: 'arm64' });
    const prog = decode(compileFilter(s, 'arm64'));
    assert.equal(prog[1].k, AUDIT_ARCH_AARCH64);
    // Only one section: 32-bit ARM has no table here, so it is killed.
    assert.equal(prog.filter((i) => i.code === 0x20 && i.k === 4).length, 1);
    const openat = syscallTable('arm64').get('openat'); // 56, not 257
    assert.ok(prog.some((i) => i.code === 0x15 && i.k === openat));
  });

  it('skips names the architecture lacks', () => {
    const s: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [
      { names: ['no_such_call', 'read'], action: 'SCMP_ACT_ALLOW' }] };
    const prog = decode(compileFilter(s, 'x64'));
    const read = syscallTable('x64').get('read');
    assert.ok(prog.some((i) => i.code === 0x15 && i.k === read));
  });

  it('refuses a program longer than the kernel takes', () => {
    const rules = Array.from({ length: 900 }, (_, v) => ({
      names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 1,
      args: [{ index: 0, value: v, op: 'SCMP_CMP_EQ' }] }));
    assert.throws(() => compileFilter({ defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: rules }, 'x64'), /instructions, more than the kernel's 4096/);
  });
});

describe('loadSeccomp', needsRoot, () => {
  // Each of these fails before a filter is attached to this process.
  it('names a refused or unknown flag', () => {
    assert.throws(() => loadSeccomp({ defaultAction: 'SCMP_ACT_ALLOW',
      flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }),
    { message: 'seccomp flag SECCOMP_FILTER_FLAG_TSYNC: not supported' });
    assert.throws(() => loadSeccomp({ defaultAction: 'SCMP_ACT_ALLOW',
      flags: ['SECCOMP_FILTER_FLAG_X'] }),
    { message: 'seccomp flag "SECCOMP_FILTER_FLAG_X": unknown' });
  });

  it('reports the kernel\'s refusal with its errno', () => {
    assert.throws(() => installFilter(Buffer.alloc(0)),
      { message: 'load seccomp filter: EINVAL' });
  });
});

// -------------------------------------------------------------- kernel

const busyboxScript = 'echo hello; ls / >/dev/null; cat /proc/self/status' +
  ' | grep "^Seccomp:"; id -u; date >/dev/null; (sleep 0 &) ; wait';
const nodeScript = 'const fs = require("fs"); fs.readdirSync("/");' +
  ' require("net").createServer().listen(0, "127.0.0.1", function () {' +
  ' this.close(() => console.log("node ok")); });';

describe('the kernel under skiff\'s default profile', needsRoot, () => {
  const calls = [
    'getpid', 'uname 0', 'keyctl 0', 'add_key 0 0 0 0 0',
    'unshare 0x04000000', 'mount 0 0 0 0 0', 'umount2 0 0',
    'open_by_handle_at -1 0 0', 'personality 0', 'personality 0xffffffff',
    'personality 0x0040000', 'clone 0x20200', 'clone 0x800', 'clone3 0 0',
    'chroot 0', 'bpf 0 0 0', 'userfaultfd 0', 'syslog 3 0 0',
    'ptrace 0xffff 0 0 0', 'swapon 0 0', '452 -1 0 0 0',
    `${0x40000000 | 39}`,
  ];

  it('refuses the dangerous calls with EPERM and keeps the rest', (t) => {
    const before = results({ calls });
    const after = probe({ profile: 'default', caps: DOCKER_CAPS, calls,
      run: ['/bin/busybox', 'sh', '-c', busyboxScript] });
    assert.ok(after.out, after.stderr);
    const r = after.out.results;
    t.diagnostic(`without the filter: ${JSON.stringify(before)}`);
    t.diagnostic(`with it: ${JSON.stringify(r)}`);
    for (const c of ['keyctl 0', 'add_key 0 0 0 0 0', 'unshare 0x04000000',
      'mount 0 0 0 0 0', 'umount2 0 0', 'open_by_handle_at -1 0 0',
      'personality 0x0040000', 'clone 0x20200', 'bpf 0 0 0',
      'userfaultfd 0', 'syslog 3 0 0', 'ptrace 0xffff 0 0 0', 'swapon 0 0',
      `${0x40000000 | 39}`]) {
      assert.notEqual(before[c], 'EPERM', `${c} without a filter`);
      assert.equal(r[c], 'EPERM', c);
    }
    // Allowed: these reach the kernel, which answers as without a filter.
    for (const c of ['getpid', 'uname 0', 'personality 0',
      'personality 0xffffffff', 'clone 0x800', 'chroot 0']) {
      assert.equal(r[c], before[c], c);
    }
    // clone3's flags are out of the filter's sight: ENOSYS, glibc falls
    // back to clone. 452 (fchmodat2, 6.6) is newer than our table: ENOSYS.
    assert.equal(r['clone3 0 0'], 'ENOSYS');
    assert.equal(r['452 -1 0 0 0'], 'ENOSYS');
    // A busybox shell works under the filter (fork and exec inherit it).
    const run = after.out.run!;
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^hello\n/);
    assert.match(run.stdout, /Seccomp:\t2\n/);
  });

  it('answers ENOSYS, not the default, above the table', () => {
    // EDOM as the default tells the two apart on any kernel.
    const spec = resolveProfile(defaultProfile(), { caps: DOCKER_CAPS });
    spec.defaultErrnoRet = 33;
    const r = results({ spec, calls: ['keyctl 0', '452 -1 0 0 0', '1000'] });
    assert.deepEqual(r, { 'keyctl 0': 'EDOM', '452 -1 0 0 0': 'ENOSYS',
      1000: 'ENOSYS' });
  });

  it('keeps node working: threads, files, a loopback socket', () => {
    const r = probe({ profile: 'default', caps: DOCKER_CAPS, calls: [],
      run: [process.execPath, '-e', nodeScript] });
    assert.ok(r.out, r.stderr);
    assert.equal(r.out.run!.stderr, '');
    assert.equal(r.out.run!.stdout, 'node ok\n');
  });

  it('allows namespaces and mounts once CAP_SYS_ADMIN is given', () => {
    const r = results({ profile: 'default',
      caps: [...DOCKER_CAPS, 'CAP_SYS_ADMIN'],
      calls: ['unshare 0x04000000', 'mount 0 0 0 0 0', 'keyctl 0'] });
    assert.equal(r['unshare 0x04000000'], 'ok');
    assert.equal(r['mount 0 0 0 0 0'], 'EFAULT');
    assert.equal(r['keyctl 0'], 'EPERM');
  });

  it('measures resolve + compile + load', (t) => {
    const r = probe({ profile: 'default', caps: DOCKER_CAPS,
      calls: ['getpid'] });
    assert.ok(r.out, r.stderr);
    t.diagnostic(`times in ms (cold process): ${JSON.stringify(r.out.times)}`);
  });
});

describe('the kernel runs the compiled program', needsRoot, () => {
  it('kills the process with SIGSYS on SCMP_ACT_KILL_PROCESS', () => {
    const spec: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_KILL_PROCESS' }] };
    assert.equal(probe({ spec, calls: ['getppid'] }).signal, 'SIGSYS');
    assert.equal(probe({ calls: ['getppid'] }).signal, null);
  });

  it('compares 64-bit arguments with every operator', () => {
    // Each operator guards a syscall that ignores its arguments; a match
    // answers EDOM. v has both words set, so each half matters.
    const v = 0x1_0000_0005;
    const ops: [string, string, (a: bigint) => boolean][] = [
      ['getppid', 'SCMP_CMP_EQ', (a) => a === BigInt(v)],
      ['getpid', 'SCMP_CMP_NE', (a) => a !== BigInt(v)],
      ['getuid', 'SCMP_CMP_LT', (a) => a < BigInt(v)],
      ['getgid', 'SCMP_CMP_LE', (a) => a <= BigInt(v)],
      ['geteuid', 'SCMP_CMP_GT', (a) => a > BigInt(v)],
      ['getegid', 'SCMP_CMP_GE', (a) => a >= BigInt(v)],
      ['gettid', 'SCMP_CMP_MASKED_EQ',
        (a) => (a & 0x1_0000_00ffn) === 0x1_0000_0005n],
    ];
    const spec: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: ops.map(([name, op]) => ({ names: [name],
        action: 'SCMP_ACT_ERRNO', errnoRet: 33 /* EDOM */,
        args: [{ index: 1, op, value: op.endsWith('MASKED_EQ')
          ? 0x1_0000_00ff : v, valueTwo: 0x1_0000_0005 }] })) };
    const values = [0, 4, 5, 6, 0xffffffff, 0x1_0000_0004, v, 0x1_0000_0006,
      0x1_0000_0105, 0x2_0000_0000, 0x2_0000_0005];
    const calls = ops.flatMap(([name]) =>
      values.map((a) => `${name} 0 ${a}`));
    const r = results({ spec, calls });
    for (const [name, op, holds] of ops) {
      for (const a of values) {
        const want = holds(BigInt(a)) ? 'EDOM' : 'ok';
        assert.equal(r[`${name} 0 ${a}`], want, `${op} ${a.toString(16)}`);
      }
    }
  });

  it('ANDs the arguments of a rule and ORs the rules', () => {
    const eq = (index: number, value: number) =>
      ({ index, value, op: 'SCMP_CMP_EQ' });
    const spec: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 33,
          args: [eq(0, 1), eq(1, 2)] },
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 34,
          args: [eq(0, 7)] }] };
    const r = results({ spec, calls: ['getppid 1 2', 'getppid 1 3',
      'getppid 0 2', 'getppid 7 0'] });
    assert.deepEqual(r, { 'getppid 1 2': 'EDOM', 'getppid 1 3': 'ok',
      'getppid 0 2': 'ok', 'getppid 7 0': 'ERANGE' });
  });

  it('jumps over a syscall block longer than 255 instructions', () => {
    // 80 rules of 5 instructions: the guard needs a JA.
    const rules = Array.from({ length: 80 }, (_, i) => ({
      names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 100 + i,
      args: [{ index: 0, value: i, op: 'SCMP_CMP_EQ' }] }));
    const spec: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [...rules, { names: ['getpid'], action: 'SCMP_ACT_ERRNO',
        errnoRet: 33 }] };
    const r = results({ spec, calls: ['getppid 79', 'getppid 80',
      'getpid'] });
    assert.equal(r['getppid 79'], 'errno 179');
    assert.equal(r['getppid 80'], 'ok');
    assert.equal(r.getpid, 'EDOM');
  });
});

describe('the i386 ABI on x86_64', needsRoot, () => {
  const skip = process.arch === 'x64' ? undefined : 'x86_64 only';

  it('filters int 0x80 with i386 numbers, or kills it', { skip }, (t) => {
    const int80 = join(tempDir(t), 'int80');
    execFileSync('cc', ['-static', '-O2', '-o', int80,
      join(HERE, 'testing/int80.c')]);
    // getpid, keyctl, and 452, which is past our i386 table.
    const run = [int80, '20', '288', '452'];
    const bare = spawnSync(int80, ['20']);
    if (bare.signal === 'SIGSEGV') {
      t.skip('this kernel has no IA32 emulation (int 0x80 faults)');
      return;
    }
    const r = probe({ profile: 'default', caps: DOCKER_CAPS, run });
    assert.ok(r.out, r.stderr);
    const [pid, keyctl, past] = r.out.run!.stdout.trim().split('\n')
      .map(Number);
    assert.ok(pid > 0, r.out.run!.stdout);
    assert.equal(keyctl, -1);   // -EPERM
    assert.equal(past, -38);    // -ENOSYS
    // A profile that lists only x86_64: the i386 ABI is a foreign one.
    const only64 = resolveProfile(defaultProfile(), { caps: DOCKER_CAPS });
    only64.architectures = ['SCMP_ARCH_X86_64'];
    const k = probe({ spec: only64, run });
    assert.equal(k.out!.run!.signal, 'SIGSYS');
  });
});

describe('podman\'s profile', needsRoot, () => {
  const skip = existsSync(PODMAN) ? undefined
    : `${PODMAN} is absent (Debian's golang-github-containers-common)`;

  it('parses, resolves, compiles, loads and confines', { skip }, (t) => {
    const p = parseProfile(readFileSync(PODMAN, 'utf8'), PODMAN);
    const s = resolveProfile(p, { caps: DOCKER_CAPS });
    const n = compileFilter(s).length / 8;
    t.diagnostic(`podman's profile: ${n} instructions`);
    assert.ok(n < MAX_INSNS);
    assert.ok(compileFilter(resolveProfile(p, { caps: ALL_CAPS }))
      .length / 8 < MAX_INSNS);
    const calls = ['getpid', 'userfaultfd 0', 'bpf 0 0 0', 'add_key 0 0 0 0 0',
      'open_by_handle_at -1 0 0'];
    const before = results({ calls });
    const r = probe({ profile: PODMAN, caps: DOCKER_CAPS, calls,
      run: ['/bin/busybox', 'sh', '-c', busyboxScript] });
    assert.ok(r.out, r.stderr);
    const after = r.out.results;
    assert.equal(after.getpid, 'ok');
    // Podman allows keyctl (its rule list has it); what it names in an
    // ERRNO rule fails with EPERM, what it does not name with its
    // defaultErrnoRet, ENOSYS.
    for (const c of ['userfaultfd 0', 'bpf 0 0 0',
      'open_by_handle_at -1 0 0']) {
      assert.notEqual(before[c], 'EPERM', c);
      assert.equal(after[c], 'EPERM', c);
    }
    assert.equal(after['add_key 0 0 0 0 0'], 'ENOSYS');
    assert.equal(r.out.run!.status, 0, r.out.run!.stderr);
  });

  it('a profile file with a mistake names file and cause', (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": ' +
      '[{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}');
    assert.throws(() => parseProfile(readFileSync(file, 'utf8'), file),
      { message: `seccomp profile "${file}": syscalls[0].action ` +
        '"SCMP_ACT_ALOW": unknown action' });
  });
});
