// A seccomp filter is a classic BPF program (the packet filter language of
// tcpdump) that the kernel runs on every system call of the process. Its
// input is struct seccomp_data (seccomp(2)):
//
//   offset 0   int   nr;                  the syscall number
//   offset 4   u32   arch;                AUDIT_ARCH_* of the calling ABI
//   offset 8   u64   instruction_pointer;
//   offset 16  u64   args[6];             the raw argument registers
//
// and its result, the `ret` value, says what happens: allow, fail with an
// errno, kill, ... We assemble it by hand from a LinuxSeccomp (libseccomp
// does this for runc and crun): an architecture check, then a list of
// "if nr == N" tests, each with its action or its argument comparisons.
import type { LinuxSeccomp, SeccompArg, SeccompRule }
  from '../02-namespaces/spec.ts';
import {
  AUDIT_ARCH, SCMP_ARCH, X32_SYSCALL_BIT, hasSyscallTable, syscallTable,
} from './syscalls.ts';

// #region bpf-opcodes (unused)
// <linux/bpf_common.h>: an opcode is class | size | mode (or | op | src).
const BPF_LD = 0x00, BPF_ALU = 0x04, BPF_JMP = 0x05, BPF_RET = 0x06;
const BPF_W = 0x00, BPF_ABS = 0x20, BPF_K = 0x00, BPF_AND = 0x50;
const BPF_JA = 0x00, BPF_JEQ = 0x10, BPF_JGT = 0x20, BPF_JGE = 0x30;
const BPF_JSET = 0x40;
const LD_ABS = BPF_LD | BPF_W | BPF_ABS;  // A = 32-bit word at offset k

/** One struct sock_filter: { u16 code; u8 jt; u8 jf; u32 k; }. */
export interface Insn { code: number; jt: number; jf: number; k: number }

const stmt = (code: number, k: number): Insn => ({ code, jt: 0, jf: 0, k });
/** if (A op k) skip jt instructions else skip jf (each 0..255). */
const jump = (op: number, k: number, jt: number, jf: number): Insn =>
  ({ code: BPF_JMP | op | BPF_K, jt, jf, k: k >>> 0 });
const load = (offset: number) => stmt(LD_ABS, offset);
const ret = (value: number) => stmt(BPF_RET | BPF_K, value);
const ja = (skip: number) => stmt(BPF_JMP | BPF_JA, skip);
const and = (mask: number) => stmt(BPF_ALU | BPF_AND | BPF_K, mask);
// #endregion

// #region seccomp-ret (unused)
// <linux/seccomp.h>: the action in the high 16 bits, data in the low.
const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_KILL_THREAD = 0x00000000;
const SECCOMP_RET_TRAP = 0x00030000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_TRACE = 0x7ff00000;
const SECCOMP_RET_LOG = 0x7ffc0000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1, ENOSYS = 38;

const OFFSET_NR = 0, OFFSET_ARCH = 4;
/** seccomp_data.args[i], as two 32-bit words (little endian: low first). */
const argLow = (i: number) => 16 + 8 * i;
const argHigh = (i: number) => 16 + 8 * i + 4;
// #endregion

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const MAX_INSNS = 4096;

// #region action (unused)
/** A profile's action as a filter's return value. */
export function actionValue(action: string, errnoRet?: number): number {
  const data = (errnoRet ?? EPERM) & 0xffff;
  if (errnoRet !== undefined && action !== 'SCMP_ACT_ERRNO' &&
    action !== 'SCMP_ACT_TRACE') {
    throw new Error(`seccomp action ${action}: takes no errnoRet`);
  }
  switch (action) {
    case 'SCMP_ACT_ALLOW': return SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_ERRNO': return (SECCOMP_RET_ERRNO | data) >>> 0;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD': return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS': return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP': return SECCOMP_RET_TRAP;
    // The tracer reads the data with PTRACE_GETEVENTMSG.
    case 'SCMP_ACT_TRACE': return (SECCOMP_RET_TRACE | data) >>> 0;
    case 'SCMP_ACT_LOG': return SECCOMP_RET_LOG;
    default: throw new Error(`seccomp action "${action}": unknown`);
  }
}
// #endregion

/** The default action's value; defaultErrnoRet goes with ERRNO/TRACE. */
function defaultValue(s: LinuxSeccomp): number {
  const takesErrno = s.defaultAction === 'SCMP_ACT_ERRNO' ||
    s.defaultAction === 'SCMP_ACT_TRACE';
  return actionValue(s.defaultAction,
    takesErrno ? s.defaultErrnoRet : undefined);
}

/** What one syscall number does: conditional rules, then a fallback. */
interface Decision { conditional: { args: SeccompArg[]; ret: number }[];
  fallback?: number }

/**
 * Rules per syscall number, for one architecture. Names the architecture
 * lacks are skipped (libseccomp and runc do the same: one profile serves
 * every architecture). For one syscall, rules with arguments are tried
 * in profile order, then the first rule without arguments.
 */
function decisions(rules: SeccompRule[], arch: string):
  Map<number, Decision> {
  const table = syscallTable(arch);
  const byNr = new Map<number, Decision>();
  for (const rule of rules) {
    const value = actionValue(rule.action, rule.errnoRet);
    for (const name of rule.names) {
      const nr = table.get(name);
      if (nr === undefined) continue;
      let d = byNr.get(nr);
      if (!d) byNr.set(nr, d = { conditional: [] });
      if (rule.args?.length) {
        d.conditional.push({ args: rule.args, ret: value });
      } else d.fallback ??= value;
    }
  }
  return byNr;
}

/**
 * Instructions that fall through when args[a.index] `op` value holds and
 * jump `fail` instructions past their end when it does not. BPF words
 * are 32 bits: a 64-bit argument is compared as high word, then low.
 */
// #region compare
function compare(a: SeccompArg, fail: number): Insn[] {
  const hi = Math.floor(a.value / 2 ** 32) >>> 0;
  const lo = a.value >>> 0;
  const [H, L] = [load(argHigh(a.index)), load(argLow(a.index))];
  switch (a.op) {
    case 'SCMP_CMP_EQ': return [H, jump(BPF_JEQ, hi, 0, fail + 2),
      L, jump(BPF_JEQ, lo, 0, fail)];
    case 'SCMP_CMP_NE': return [H, jump(BPF_JEQ, hi, 0, 2),
      L, jump(BPF_JEQ, lo, fail, 0)];
    case 'SCMP_CMP_GT': case 'SCMP_CMP_GE': {
      const low = a.op === 'SCMP_CMP_GT' ? BPF_JGT : BPF_JGE;
      return [H, jump(BPF_JGT, hi, 3, 0), jump(BPF_JEQ, hi, 0, fail + 2),
        L, jump(low, lo, 0, fail)];
    }
    case 'SCMP_CMP_LT': case 'SCMP_CMP_LE': {
      const low = a.op === 'SCMP_CMP_LT' ? BPF_JGE : BPF_JGT;
      return [H, jump(BPF_JGT, hi, fail + 3, 0), jump(BPF_JEQ, hi, 0, 2),
        L, jump(low, lo, fail, 0)];
    }
    case 'SCMP_CMP_MASKED_EQ': {
      // OCI and Docker: (arg & value) == valueTwo.
      const want = a.valueTwo ?? 0;
      const wantHi = Math.floor(want / 2 ** 32) >>> 0;
      return [H, and(hi), jump(BPF_JEQ, wantHi, 0, fail + 3),
        L, and(lo), jump(BPF_JEQ, want >>> 0, 0, fail)];
    }
    default: throw new Error(`seccomp operator "${a.op}": unknown`);
  }
}
// #endregion

// #region rule-block (unused)
/**
 * The block of one syscall with argument rules, entered with A = nr and
 * always ending in a return: each rule's comparisons (all must hold),
 * its action, and at the end the fallback.
 */
function ruleBlock(d: Decision, fallback: number): Insn[] {
  const out: Insn[] = [];
  for (const rule of d.conditional) {
    // Compile back to front: each comparison knows how far the end is.
    let tail: Insn[] = [ret(rule.ret)];
    for (const arg of [...rule.args].reverse()) {
      tail = [...compare(arg, tail.length), ...tail];
    }
    out.push(...tail);
  }
  out.push(ret(d.fallback ?? fallback));
  return out;
}
// #endregion

/** `if (A == nr) { block }`, however long the block is. */
function guarded(nr: number, block: Insn[]): Insn[] {
  if (block.length <= 255) {
    return [jump(BPF_JEQ, nr, 0, block.length), ...block];
  }
  // A conditional jump reaches 255 instructions; JA's k is 32 bits.
  return [jump(BPF_JEQ, nr, 1, 0), ja(block.length), ...block];
}

/** What one syscall number does: a return value, or a block of code
 * (entered when A == nr) that ends in returns. */
interface Case { nr: number; ret?: number; code?: Insn[] }

// #region search-tree (unused)
/**
 * The cases, sorted by number, as a binary search: "nr >= middle?"
 * halves the range until a few are left, tested one by one. A syscall
 * then costs some 20 instructions instead of a walk down the whole list,
 * and so does the kernel's check, at load time, of which numbers the
 * filter always allows (seccomp_cache_prepare runs it for every one).
 */
function searchTree(cases: Case[], dflt: number): Insn[] {
  if (cases.length <= 16) return leaf(cases, dflt);
  const half = cases.length >> 1;
  const below = searchTree(cases.slice(0, half), dflt);
  const above = searchTree(cases.slice(half), dflt);
  // jge: true -> the ja over `below`, false -> skip the ja into it.
  return [jump(BPF_JGE, cases[half].nr, 0, 1), ja(below.length),
    ...below, ...above];
}
// #endregion

// #region leaf
/**
 * A few cases in a row: blocks first, then `jeq nr` tests that jump to
 * one shared return per action, after the default's:
 *   jeq 0 -> ALLOW; jeq 1 -> ALLOW; jeq 3 -> ERRNO; ret DEFAULT;
 *   ret ALLOW; ret ERRNO
 */
function leaf(cases: Case[], dflt: number): Insn[] {
  const out = cases.filter((c) => c.code)
    .flatMap((c) => guarded(c.nr, c.code!));
  const simple = cases.filter((c) => !c.code);
  const rets = [...new Set(simple.map((c) => c.ret!))];
  simple.forEach((c, i) => {
    // Past the other tests, the default's ret, then to this action's.
    const skip = simple.length - 1 - i + 1 + rets.indexOf(c.ret!);
    out.push(jump(BPF_JEQ, c.nr, skip, 0));
  });
  return [...out, ret(dflt), ...rets.map(ret)];
}
// #endregion

const highestNr = new Map<string, number>();
/** The highest syscall number this architecture's table knows. */
function highest(arch: string): number {
  let max = highestNr.get(arch);
  if (max === undefined) {
    max = Math.max(...syscallTable(arch).values());
    highestNr.set(arch, max);
  }
  return max;
}

// #region arch-section (unused)
/** The part of the program for one architecture, entered after its check. */
function section(s: LinuxSeccomp, arch: string): Insn[] {
  const dflt = defaultValue(s);
  const out: Insn[] = [load(OFFSET_NR)];
  if (arch === 'x64') {
    // x32 shares x86_64's AUDIT_ARCH; its numbers have bit 30 set.
    out.push(jump(BPF_JSET, X32_SYSCALL_BIT, 0, 1), ret(dflt));
  }
  if (dflt !== SECCOMP_RET_ALLOW && dflt !== SECCOMP_RET_LOG) {
    // A syscall newer than our table: ENOSYS, so that libc falls back
    // to an older call, as runc's patchbpf does (not EPERM).
    out.push(jump(BPF_JGT, highest(arch), 0, 1),
      ret(actionValue('SCMP_ACT_ERRNO', ENOSYS)));
  }
  const cases: Case[] = [];
  for (const [nr, d] of decisions(s.syscalls ?? [], arch)) {
    if (d.conditional.length) {
      cases.push({ nr, code: ruleBlock(d, dflt) });
    } else if (d.fallback !== dflt) {
      cases.push({ nr, ret: d.fallback });
    }
  }
  cases.sort((x, y) => x.nr - y.nr);
  out.push(...searchTree(cases, dflt));
  return out;
}
// #endregion

/** The architectures to filter: native first, then listed ones we know. */
function archesOf(s: LinuxSeccomp, native: string): string[] {
  const listed = (s.architectures ?? []).map((a) => SCMP_ARCH[a] ?? a);
  const extra = listed.filter((a) => a !== native && hasSyscallTable(a) &&
    a in AUDIT_ARCH);
  return [native, ...new Set(extra)];
}

// #region compile-filter
/**
 * The whole program: check the ABI (a foreign one is killed, since its
 * numbers mean other calls), then that ABI's section.
 *
 *   ld arch; jeq X86_64 -> ja x86_64; jeq I386 -> ja i386; ret KILL
 *   x86_64:  ld nr; x32? -> default; nr > max -> ENOSYS; search tree
 *   i386:    ld nr; nr > max -> ENOSYS; search tree
 */
export function compileFilter(s: LinuxSeccomp,
  arch: string = process.arch): Buffer {
  const arches = archesOf(s, arch);
  const sections = arches.map((a) => section(s, a));
  const head: Insn[] = [load(OFFSET_ARCH)];
  // Two instructions per arch (jeq, ja), then the kill, then sections:
  // from the ja at 2 + 2i, section 0 is 2n - 2i - 1 further.
  let toSection = 2 * arches.length;
  arches.forEach((a, i) => {
    head.push(jump(BPF_JEQ, AUDIT_ARCH[a], 0, 1), ja(toSection - 2 * i - 1));
    toSection += sections[i].length;
  });
  head.push(ret(SECCOMP_RET_KILL_PROCESS));
  const program = [...head, ...sections.flat()];
  if (program.length > MAX_INSNS) {
    throw new Error(`seccomp filter: ${program.length} instructions, ` +
      `more than the kernel's ${MAX_INSNS}`);
  }
  return encode(program);
}
// #endregion

/** struct sock_filter[], 8 bytes each, little endian (x86, arm64). */
export function encode(program: Insn[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  for (let i = 0; i < program.length; i++) {
    const { code, jt, jf, k } = program[i];
    if (jt > 255 || jf > 255) {
      throw new Error(`seccomp filter: jump too far at ${i}`);
    }
    view.setUint16(i * 8, code, true);
    view.setUint8(i * 8 + 2, jt);
    view.setUint8(i * 8 + 3, jf);
    view.setUint32(i * 8 + 4, k, true);
  }
  return buf;
}

/** The instructions of a compiled program, for tests and the curious. */
export function decode(buf: Buffer): Insn[] {
  const out: Insn[] = [];
  for (let i = 0; i < buf.length; i += 8) {
    out.push({ code: buf.readUInt16LE(i), jt: buf.readUInt8(i + 2),
      jf: buf.readUInt8(i + 3), k: buf.readUInt32LE(i + 4) });
  }
  return out;
}
