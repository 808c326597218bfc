// Syscall numbers per architecture, and the AUDIT_ARCH values the kernel
// puts in seccomp_data.arch. A filter sees only numbers: the same name
// has a different number on every architecture (read is 0 on x86_64, 3
// on i386, 63 on aarch64), so a profile of names is compiled per arch.
// The tables come from the kernel headers: see gen-syscalls.ts.
import { AARCH64, I386, X86_64 } from './syscall-numbers.ts';

// #region audit-arch (unused)
// <linux/audit.h>: the machine type (EM_*), plus flags for a 64-bit and
// a little-endian ABI. seccomp(2) tells filters to check it first: the
// same number means another call in another ABI.
const __AUDIT_ARCH_64BIT = 0x80000000;
const __AUDIT_ARCH_LE = 0x40000000;
export const AUDIT_ARCH_X86_64 = (62 | __AUDIT_ARCH_64BIT |
  __AUDIT_ARCH_LE) >>> 0;                                 // 0xc000003e
export const AUDIT_ARCH_I386 = (3 | __AUDIT_ARCH_LE) >>> 0; // 0x40000003
export const AUDIT_ARCH_AARCH64 = (183 | __AUDIT_ARCH_64BIT |
  __AUDIT_ARCH_LE) >>> 0;                                 // 0xc00000b7
export const AUDIT_ARCH_ARM = (40 | __AUDIT_ARCH_LE) >>> 0; // 0x40000028
// #endregion

/** x86_64's x32 ABI: same AUDIT_ARCH, numbers with this bit set. */
export const X32_SYSCALL_BIT = 0x40000000;

/** The architectures we have tables for, by Node's process.arch name. */
const TABLES: Record<string, Record<string, number>> = {
  x64: X86_64, ia32: I386, arm64: AARCH64,
};

/** Node's arch name -> the AUDIT_ARCH value of its syscalls. */
export const AUDIT_ARCH: Record<string, number> = {
  x64: AUDIT_ARCH_X86_64, ia32: AUDIT_ARCH_I386,
  arm64: AUDIT_ARCH_AARCH64, arm: AUDIT_ARCH_ARM,
};

/** A profile's SCMP_ARCH_* name -> Node's arch name. */
export const SCMP_ARCH: Record<string, string> = {
  SCMP_ARCH_X86_64: 'x64', SCMP_ARCH_X86: 'ia32', SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_AARCH64: 'arm64', SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_MIPS: 'mips', SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32', SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64', SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc', SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le', SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x', SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64', SCMP_ARCH_RISCV64: 'riscv64',
  SCMP_ARCH_LOONGARCH64: 'loong64', SCMP_ARCH_M68K: 'm68k',
  SCMP_ARCH_SH: 'sh', SCMP_ARCH_SHEB: 'sheb',
};

const cache = new Map<string, Map<string, number>>();

/**
 * The syscall table of an architecture named as Node's process.arch
 * ('x64', 'arm64') or 'ia32' for i386. Throws for one we have no table of.
 */
export function syscallTable(arch: string): Map<string, number> {
  let table = cache.get(arch);
  if (!table) {
    const numbers = TABLES[arch];
    if (!numbers) throw new Error(`syscall table for "${arch}": unknown`);
    table = new Map(Object.entries(numbers));
    cache.set(arch, table);
  }
  return table;
}

/** Whether we have a syscall table for an architecture. */
export function hasSyscallTable(arch: string): boolean {
  return arch in TABLES;
}
