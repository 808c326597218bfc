// Seccomp profiles in Docker's JSON format (`docker run --security-opt
// seccomp=profile.json`, podman's /usr/share/containers/seccomp.json):
// parsed strictly, then resolved for one container into the OCI
// runtime-spec's LinuxSeccomp (config-linux.md), which is what a runtime
// compiles. The resolution follows moby's profiles/seccomp: a rule may
// be included or excluded by the container's capabilities, the machine's
// architecture and the kernel's version.
import { release } from 'node:os';
import type { LinuxSeccomp, SeccompArg, SeccompRule }
  from '../02-namespaces/spec.ts';
import { SCMP_ARCH } from './syscalls.ts';
// Imported, not read from a path: the init is a bundle run elsewhere.
import defaultJson from './default-seccomp.json' with { type: 'json' };

// #region docker-profile
/** Docker's profile format: a LinuxSeccomp with conditional rules. */
export interface DockerProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  /** Either a flat list of SCMP_ARCH_* names... */
  architectures?: string[];
  /** ...or, per native architecture, the others its CPU also runs. */
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  flags?: string[];
  syscalls?: DockerSyscall[];
}

export interface DockerSyscall {
  names?: string[];
  /** The old format's single name. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
  /** The rule applies only if all of these hold... */
  includes?: ProfileFilter;
  /** ...and none of these. */
  excludes?: ProfileFilter;
  comment?: string;
}

// #endregion

// #region profile-filter (unused)
export interface ProfileFilter {
  caps?: string[];     // "CAP_SYS_ADMIN"
  arches?: string[];   // libseccomp's names: "amd64", "x86", "arm64"
  minKernel?: string;  // "5.8": version and major revision only
}
// #endregion

export const ACTIONS = new Set([
  'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP',
  'SCMP_ACT_TRACE', 'SCMP_ACT_LOG',
]);
export const OPS = new Set([
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ',
  'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ',
]);
export const FLAGS = new Set([
  'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
]);
/** Flags seccomp(2) knows that skiff does not use (see seccomp.ts). */
const REFUSED_FLAGS = new Set([
  'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
]);
/** libseccomp's native arch names, used by includes/excludes.arches. */
const NATIVE_ARCHES = new Set([
  'x86', 'amd64', 'x32', 'arm', 'arm64', 'mips', 'mipsel', 'mips64',
  'mipsel64', 'mips64n32', 'mipsel64n32', 'mips3l64n32', 'mipsle', 'ppc',
  'ppc64', 'ppc64le', 's390', 's390x', 'parisc', 'parisc64', 'riscv64',
  'loong64', 'loongarch64', 'm68k', 'sh', 'sheb',
]);
/** Node's process.arch -> libseccomp's name (moby's goToNative). */
const NATIVE: Record<string, string> = {
  x64: 'amd64', ia32: 'x86', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le',
  s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64',
  mips: 'mips', mipsel: 'mipsle',
};

class ProfileError extends Error {}

// ---------------------------------------------------------------- parse

function fail(where: string, cause: string): never {
  throw new ProfileError(where ? `${where}: ${cause}` : cause);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkInt(v: unknown, where: string, max = Number.MAX_SAFE_INTEGER):
  void {
  if (v === undefined) return;
  const at = `${where} ${JSON.stringify(v)}`;
  if (typeof v === 'number' && v > Number.MAX_SAFE_INTEGER) {
    // JSON.parse rounds such numbers: the filter would test another value.
    fail(at, 'too large to compare exactly (above 2^53)');
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    fail(at, `not an integer from 0 to ${max}`);
  }
}

function checkStrings(v: unknown, where: string): asserts v is string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || !s)) {
    fail(where, 'not a list of names');
  }
}

function checkName(name: string, known: Set<string> | Record<string, unknown>,
  where: string, what: string): void {
  const ok = known instanceof Set ? known.has(name) : name in known;
  if (!ok) fail(`${where} "${name}"`, `unknown ${what}`);
}

function checkAction(action: unknown, where: string): void {
  if (typeof action !== 'string') fail(where, 'missing or not a string');
  if (action === 'SCMP_ACT_NOTIFY') {
    fail(`${where} "${action}"`,
      'not supported (skiff has no seccomp notify listener)');
  }
  checkName(action, ACTIONS, where, 'action');
}

function checkFilter(f: unknown, where: string): void {
  if (f === undefined || f === null) return;
  if (!isObject(f)) fail(where, 'not an object');
  if (f.caps !== undefined) checkStrings(f.caps, `${where}.caps`);
  if (f.arches !== undefined) {
    checkStrings(f.arches, `${where}.arches`);
    f.arches.forEach((a, i) =>
      checkName(a, NATIVE_ARCHES, `${where}.arches[${i}]`, 'architecture'));
  }
  if (f.minKernel !== undefined &&
    (typeof f.minKernel !== 'string' || !kernelVersion(f.minKernel))) {
    fail(`${where}.minKernel ${JSON.stringify(f.minKernel)}`,
      'not a kernel version like "5.8"');
  }
}

function checkArgs(args: unknown, where: string): void {
  if (args === undefined || args === null) return;
  if (!Array.isArray(args)) fail(where, 'not a list');
  args.forEach((a, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(a)) fail(at, 'not an object');
    checkInt(a.index, `${at}.index`, 5);
    if (a.index === undefined) fail(`${at}.index`, 'missing');
    if (a.value === undefined) fail(`${at}.value`, 'missing');
    checkInt(a.value, `${at}.value`);
    checkInt(a.valueTwo, `${at}.valueTwo`);
    if (typeof a.op !== 'string') fail(`${at}.op`, 'missing');
    checkName(a.op, OPS, `${at}.op`, 'operator');
  });
}

function checkSyscall(s: unknown, where: string): void {
  if (!isObject(s)) fail(where, 'not an object');
  if (s.name !== undefined && s.names !== undefined) {
    fail(where, '"name" and "names" both given: use one');
  }
  if (s.name !== undefined && (typeof s.name !== 'string' || !s.name)) {
    fail(`${where}.name`, 'not a name');
  }
  if (s.names !== undefined) checkStrings(s.names, `${where}.names`);
  if (s.name === undefined && s.names === undefined) {
    fail(where, 'no "names"');
  }
  checkAction(s.action, `${where}.action`);
  checkInt(s.errnoRet, `${where}.errnoRet`, 4095);
  checkArgs(s.args, `${where}.args`);
  checkFilter(s.includes, `${where}.includes`);
  checkFilter(s.excludes, `${where}.excludes`);
}

function checkArches(p: Record<string, unknown>): void {
  if (p.architectures !== undefined && p.archMap !== undefined) {
    fail('', '"architectures" and "archMap" both given: use one');
  }
  if (p.architectures !== undefined) {
    checkStrings(p.architectures, 'architectures');
    p.architectures.forEach((a, i) =>
      checkName(a, SCMP_ARCH, `architectures[${i}]`, 'architecture'));
  }
  if (p.archMap === undefined) return;
  if (!Array.isArray(p.archMap)) fail('archMap', 'not a list');
  p.archMap.forEach((m, i) => {
    const at = `archMap[${i}]`;
    if (!isObject(m) || typeof m.architecture !== 'string') {
      fail(at, 'not an object with an "architecture"');
    }
    checkName(m.architecture, SCMP_ARCH, `${at}.architecture`,
      'architecture');
    const subs = m.subArchitectures ?? [];
    checkStrings(subs, `${at}.subArchitectures`);
    subs.forEach((a, j) => checkName(a, SCMP_ARCH,
      `${at}.subArchitectures[${j}]`, 'architecture'));
  });
}

/** Checks the shape of a parsed profile; throws ProfileError. */
function checkProfile(p: unknown): asserts p is DockerProfile {
  if (!isObject(p)) fail('', 'not a JSON object');
  checkAction(p.defaultAction, 'defaultAction');
  checkInt(p.defaultErrnoRet, 'defaultErrnoRet', 4095);
  checkArches(p);
  if (p.flags !== undefined && p.flags !== null) {
    checkStrings(p.flags, 'flags');
    p.flags.forEach((f, i) => {
      if (REFUSED_FLAGS.has(f)) fail(`flags[${i}] "${f}"`, 'not supported');
      checkName(f, FLAGS, `flags[${i}]`, 'flag');
    });
  }
  if (p.listenerPath) fail('listenerPath', 'not supported (no listener)');
  if (p.syscalls === undefined || p.syscalls === null) return;
  if (!Array.isArray(p.syscalls)) fail('syscalls', 'not a list');
  p.syscalls.forEach((s, i) => checkSyscall(s, `syscalls[${i}]`));
}

// #region parse-profile (unused)
/**
 * Parses a profile in Docker's format. Any mistake is one line naming
 * the source and the cause:
 * `seccomp profile "x.json": syscalls[3].action "X": unknown action`.
 * Unknown keys are ignored, as Go's encoding/json does (podman's file
 * has "defaultErrno" and "errno" besides the numbers).
 */
export function parseProfile(text: string, source: string): DockerProfile {
  const prefix = `seccomp profile ${JSON.stringify(source)}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(`${prefix}: invalid JSON: ${
      msg.charAt(0).toLowerCase()}${msg.slice(1)}`, { cause: err });
  }
  return validProfile(json, prefix);
}
// #endregion

function validProfile(json: unknown, prefix: string): DockerProfile {
  try {
    checkProfile(json);
  } catch (err) {
    if (!(err instanceof ProfileError)) throw err;
    throw new Error(`${prefix}: ${err.message}`, { cause: err });
  }
  return json;
}

// -------------------------------------------------------------- resolve

/** "6.18.44-fc" -> [6, 18]; moby compares these two numbers only. */
function kernelVersion(v: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const have = kernelVersion(kernel);
  const want = kernelVersion(min);
  if (!have) throw new Error(`kernel version "${kernel}": not understood`);
  if (!want) return false;
  return have[0] > want[0] || (have[0] === want[0] && have[1] >= want[1]);
}

interface Host { caps: Set<string>; native: string; kernel: string }

// #region applies (unused)
/** Whether a rule's includes and excludes let it into this container. */
function applies(s: DockerSyscall, host: Host): boolean {
  const inc = s.includes ?? {};
  const exc = s.excludes ?? {};
  if (exc.arches?.includes(host.native)) return false;
  if (exc.caps?.some((c) => host.caps.has(c))) return false;
  if (exc.minKernel && kernelAtLeast(host.kernel, exc.minKernel)) {
    return false;
  }
  if (inc.arches?.length && !inc.arches.includes(host.native)) return false;
  // Every listed capability is needed (moby loops: one missing, skip).
  if (inc.caps?.some((c) => !host.caps.has(c))) return false;
  if (inc.minKernel && !kernelAtLeast(host.kernel, inc.minKernel)) {
    return false;
  }
  return true;
}
// #endregion

/** The architectures a profile names for this machine's native one. */
function architectures(p: DockerProfile, native: string):
  string[] | undefined {
  if (p.architectures?.length) return [...p.architectures];
  for (const m of p.archMap ?? []) {
    if (NATIVE[SCMP_ARCH[m.architecture]] === native) {
      return [m.architecture, ...(m.subArchitectures ?? [])];
    }
  }
  return undefined;
}

function specRule(s: DockerSyscall): SeccompRule {
  const rule: SeccompRule = {
    names: s.name ? [s.name] : [...(s.names ?? [])],
    action: s.action,
  };
  if (s.errnoRet !== undefined) rule.errnoRet = s.errnoRet;
  if (s.args?.length) rule.args = s.args.map((a) => ({ ...a }));
  return rule;
}

// #region resolve-profile
/**
 * The OCI form of a profile for one container: the rules whose
 * includes/excludes match its bounding capabilities (`caps`), the
 * architecture (default: this machine's) and the kernel (default: ours).
 */
export function resolveProfile(p: DockerProfile,
  ctx: { caps: string[]; arch?: string; kernel?: string }): LinuxSeccomp {
  const arch = ctx.arch ?? process.arch;
  const host: Host = {
    caps: new Set(ctx.caps.map(capName)),
    native: NATIVE[arch] ?? arch,
    kernel: ctx.kernel ?? release(),
  };
  const out: LinuxSeccomp = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) {
    out.defaultErrnoRet = p.defaultErrnoRet;
  }
  const arches = architectures(p, host.native);
  if (arches) out.architectures = arches;
  if (p.flags?.length) out.flags = [...p.flags];
  out.syscalls = (p.syscalls ?? []).filter((s) => applies(s, host))
    .map(specRule);
  return out;
}
// #endregion

/** "sys_admin" or "SYS_ADMIN" -> "CAP_SYS_ADMIN". */
function capName(c: string): string {
  const upper = c.toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/** skiff's own default profile, chapters/06-security/default-seccomp.json
 * (a fresh copy: callers may change it). */
export function defaultProfile(): DockerProfile {
  return validProfile(structuredClone(defaultJson),
    'seccomp profile "default-seccomp.json"');
}
