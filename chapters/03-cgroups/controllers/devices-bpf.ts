// cgroup v2 has no devices.allow file. Instead, the kernel runs an eBPF
// program of type BPF_PROG_TYPE_CGROUP_DEVICE, attached to the cgroup, on
// every mknod(2) and open(2) of a device node by its processes; the
// program returns 1 to allow and 0 to deny (EPERM). We assemble that
// program by hand, instruction by instruction, the way runc does
// (libcontainer/cgroups/devices/devicefilter), and load it with bpf(2).
import { closeSync, constants, openSync } from 'node:fs';
import type { DeviceRule } from '../../02-namespaces/spec.ts';
import { errnoName, koffi, libc } from '../../01-chroot/kernel.ts';
import { CgroupError, traceCgroupChange } from '../cgroups/fs.ts';

// bpf(2) has no libc wrapper: call it by number through syscall(2).
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;          // attach type
// include/uapi/linux/bpf.h: struct bpf_cgroup_dev_ctx
//   u32 access_type = (access << 16) | type;  u32 major;  u32 minor;
const DEV_BLOCK = 1, DEV_CHAR = 2;
const ACC_MKNOD = 1, ACC_READ = 2, ACC_WRITE = 4;

const syscall = libc.func('long syscall(long nr, ...)');

const ProgLoadAttr = koffi.struct('skiff_bpf_prog_load_attr', {
  prog_type: 'uint32', insn_cnt: 'uint32', insns: 'uint64',
  license: 'uint64', log_level: 'uint32', log_size: 'uint32',
  log_buf: 'uint64', kern_version: 'uint32', prog_flags: 'uint32',
  prog_name: koffi.array('char', 16), prog_ifindex: 'uint32',
  expected_attach_type: 'uint32',
});
const ProgAttachAttr = koffi.struct('skiff_bpf_prog_attach_attr', {
  target_fd: 'uint32', attach_bpf_fd: 'uint32',
  attach_type: 'uint32', attach_flags: 'uint32',
});

// #region bpf-insn
// One eBPF instruction is 8 bytes: opcode, dst and src registers in one
// byte, a 16-bit jump offset and a 32-bit immediate (bpf(2), and
// Documentation/bpf/standardization/instruction-set.rst).
function insn(code: number, dst: number, src: number, off: number,
  imm: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(code, 0);
  b.writeUInt8((src << 4) | dst, 1);
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
}
const ldxw = (dst: number, src: number, off: number) =>
  insn(0x61, dst, src, off, 0);             // dst = *(u32 *)(src + off)
const and32 = (dst: number, imm: number) => insn(0x54, dst, 0, 0, imm);
const rsh32 = (dst: number, imm: number) => insn(0x74, dst, 0, 0, imm);
const mov32reg = (dst: number, src: number) => insn(0xbc, dst, src, 0, 0);
const mov64 = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm);
const jne = (dst: number, imm: number, off: number) =>
  insn(0x55, dst, 0, off, imm);             // if dst != imm: pc += off
const exit = () => insn(0x95, 0, 0, 0, 0);
// #endregion

// #region device-filter
/**
 * The program: load type, access, major and minor into r2..r5, then one
 * block per rule, LAST rule first (later rules win), each ending in
 * "return allow"; a mismatch jumps to the next block. No match: deny.
 */
export function deviceFilterProgram(rules: DeviceRule[]): Buffer[] {
  const prog = [
    ldxw(2, 1, 0), and32(2, 0xffff),       // r2 = type
    ldxw(3, 1, 0), rsh32(3, 16),           // r3 = access
    ldxw(4, 1, 4), ldxw(5, 1, 8),          // r4 = major, r5 = minor
  ];
  for (const rule of [...rules].reverse()) {
    const checks: ((skip: number) => Buffer[])[] = [];
    if (rule.type === 'b' || rule.type === 'c') {
      const t = rule.type === 'b' ? DEV_BLOCK : DEV_CHAR;
      checks.push((skip) => [jne(2, t, skip)]);
    }
    const access = accessBits(rule.access);
    if (access !== 7) {
      // Deny unless every requested bit is one the rule names.
      checks.push((skip) => [mov32reg(1, 3), and32(1, ~access & 7),
        jne(1, 0, skip)]);
    }
    if (rule.major !== undefined && rule.major >= 0) {
      checks.push((skip) => [jne(4, rule.major!, skip)]);
    }
    if (rule.minor !== undefined && rule.minor >= 0) {
      checks.push((skip) => [jne(5, rule.minor!, skip)]);
    }
    prog.push(...ruleBlock(checks, rule.allow));
    // A rule that matches everything ends the program: the verifier
    // rejects code that can never run.
    if (checks.length === 0) return prog;
  }
  prog.push(mov64(0, 0), exit());
  return prog;
}
// #endregion

// #region rule-block
function ruleBlock(checks: ((skip: number) => Buffer[])[], allow: boolean):
  Buffer[] {
  // Lay out from the end: each jump skips what follows it in the block.
  let tail = [mov64(0, allow ? 1 : 0), exit()];
  for (const check of [...checks].reverse()) {
    tail = [...check(tail.length), ...tail];
  }
  return tail;
}
// #endregion

function accessBits(access = 'rwm'): number {
  let bits = 0;
  if (access.includes('m')) bits |= ACC_MKNOD;
  if (access.includes('r')) bits |= ACC_READ;
  if (access.includes('w')) bits |= ACC_WRITE;
  return bits;
}

/** bpf(2): the new fd (or 0), or throws naming `what` and the errno. */
function bpf(cmd: number, type: string, attr: object, what: string,
  log?: Buffer): number {
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) {
    throw new CgroupError(`${what}: unsupported architecture ${process.arch}`);
  }
  const size = koffi.sizeof(type);
  let ret = -1;
  // The verifier stops with EAGAIN when a signal is pending, and an
  // engine gets SIGCHLD all the time: try again, as libbpf does.
  for (let i = 0; i < 5 && ret < 0; i++) {
    ret = Number(syscall(nr, 'int', cmd, `${type} *`, attr, 'uint', size));
    if (ret < 0 && errnoName(koffi.errno()) !== 'EAGAIN') break;
  }
  if (ret >= 0) return ret;
  const errno = errnoName(koffi.errno());
  // The verifier explains a rejected program in the log buffer.
  const why = log?.toString('utf8').replace(/\0[^]*$/, '').trim();
  throw new CgroupError(`${what}: ${errno}${why ? `: ${why}` : ''}`);
}

// #region attach-filter
/** Loads the device filter for `rules` and attaches it to cgroup `dir`. */
export function attachDeviceFilter(dir: string, rules: DeviceRule[]): void {
  const code = Buffer.concat(deviceFilterProgram(rules));
  const license = Buffer.from('Apache\0');
  const log = Buffer.alloc(64 * 1024);
  const progFd = bpf(BPF_PROG_LOAD, 'skiff_bpf_prog_load_attr', {
    prog_type: BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt: code.length / 8,
    insns: koffi.address(code), license: koffi.address(license),
    log_level: 1, log_size: log.length, log_buf: koffi.address(log),
    kern_version: 0, prog_flags: 0, prog_name: 'skiff_devices',
    prog_ifindex: 0, expected_attach_type: BPF_CGROUP_DEVICE,
  }, `bpf load device filter for ${dir}`, log);
  const dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    // Flags 0: one program per cgroup, replaced when apply() runs again.
    bpf(BPF_PROG_ATTACH, 'skiff_bpf_prog_attach_attr', {
      target_fd: dirFd, attach_bpf_fd: progFd,
      attach_type: BPF_CGROUP_DEVICE, attach_flags: 0,
    }, `bpf attach device filter to ${dir}`);
  } finally {
    // The cgroup holds its own reference to the attached program.
    closeSync(dirFd);
    closeSync(progFd);
  }
  traceCgroupChange(dir, `bpf device filter, ${code.length / 8} ` +
    'instructions');
}
// #endregion
