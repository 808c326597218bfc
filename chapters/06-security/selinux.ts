// Chapter 06: SELinux labels for `--security-opt label=...`.
//
// SELinux gives every process and every file a label,
// user:role:type:level, and its policy says which process types may do
// what to which file types. Container engines run a container as type
// container_t (svirt_lxc_net_t in older policies) with a level of two
// random categories, s0:c12,c345, and label its files container_file_t
// with the same level: one container cannot touch another's files even
// as root, nor the host's. No kernel this book runs on has SELinux on,
// so this module parses and refuses clearly; it is not tested against a
// real SELinux kernel.
import { randomInt } from 'node:crypto';
import type { SyscallError } from '../01-chroot/kernel.ts';
import { selinuxEnabled, writeAttr } from './lsm.ts';

export interface LabelOpts {
  user?: string;
  role?: string;
  type?: string;
  level?: string;
  disable?: boolean;
  filetype?: string;
  nested?: boolean;
}

type Field = 'user' | 'role' | 'type' | 'level' | 'filetype';
const FIELDS: Field[] = ['user', 'role', 'type', 'level', 'filetype'];

// #region parse-label (unused)
/**
 * One `--security-opt label=...` value (docker repeats the flag for
 * several): user:U, role:R, type:T, level:L, filetype:T, disable (no
 * labelling: the container runs as the engine does) or nested (podman:
 * the container may itself run confined processes). `label=` or
 * docker's old `label:` prefix is accepted. Wording as go-selinux's.
 */
export function parseLabelOpt(value: string): LabelOpts {
  const opt = value.replace(/^label[=:]/, '');
  if (opt === 'disable') return { disable: true };
  if (opt === 'nested') return { nested: true };
  const colon = opt.indexOf(':');
  const key = opt.slice(0, colon) as Field;
  const val = opt.slice(colon + 1);
  if (colon < 0 || !FIELDS.includes(key) || val === '') {
    throw new Error(`bad label option "${opt}": valid options are ` +
      '\'disable\', \'nested\' or \'user, role, type, level, filetype\' ' +
      'followed by \':\' and a value');
  }
  return { [key]: val };
}

/** Several options, later ones winning, as docker merges them. */
export function parseLabelOpts(values: string[]): LabelOpts {
  return Object.assign({}, ...values.map(parseLabelOpt)) as LabelOpts;
}
// #endregion

/** Shown back in an error: the options as the user wrote them. */
function describe(opts: LabelOpts): string {
  const parts = FIELDS.filter((f) => opts[f] !== undefined)
    .map((f) => `label=${f}:${opts[f]}`);
  if (opts.nested) parts.push('label=nested');
  return parts.join(' ');
}

// #region check-label (unused)
/**
 * Engine side: refuses label options where SELinux is off. Docker
 * ignores them there in silence (go-selinux's InitLabels returns empty
 * labels); skiff says so, since the user asked for a confinement the
 * host cannot give. label=disable asks for none and always passes.
 */
export function checkLabel(opts: LabelOpts): void {
  if (opts.disable) return;
  const asked = describe(opts);
  if (asked === '' || selinuxEnabled()) return;
  throw new Error(`selinux is not enabled on this host: ` +
    `--security-opt ${asked} needs it`);
}
// #endregion

/** A level of two distinct categories out of 1024, lower one first. */
function randomLevel(): string {
  const a = randomInt(1024);
  let b = randomInt(1023);
  if (b >= a) b++;
  return `s0:c${Math.min(a, b)},c${Math.max(a, b)}`;
}

// #region process-label (unused)
/**
 * The label the container's processes run as (spec.process.selinuxLabel),
 * from the policy's usual container defaults and the user's options;
 * undefined where SELinux is off or label=disable. Real engines read
 * the defaults from the policy (/etc/selinux/<policy>/contexts/
 * lxc_contexts) and reserve the level so no two containers share it.
 */
export function processLabel(opts: LabelOpts,
  level = opts.level ?? randomLevel()): string | undefined {
  if (opts.disable || !selinuxEnabled()) return undefined;
  return [opts.user ?? 'system_u', opts.role ?? 'system_r',
    opts.type ?? 'container_t', level].join(':');
}

/** The label of the container's files (spec.linux.mountLabel). */
export function mountLabel(opts: LabelOpts, level: string): string {
  return [opts.user ?? 'system_u', 'object_r',
    opts.filetype ?? 'container_file_t', level].join(':');
}
// #endregion


// #region apply-selinux (unused)
/**
 * Init side, on the thread that calls execve(2): the next exec runs as
 * `label` (setexeccon(3) does this write). SELinux uses the shared
 * attr/exec; the raw label, with no "exec " prefix as AppArmor wants.
 */
export function applySelinux(label: string | undefined): void {
  if (!label) return;
  if (!selinuxEnabled()) {
    throw new Error(`selinux: set exec label ${label}: selinux is not ` +
      'enabled on this host');
  }
  try {
    writeAttr('/proc/thread-self/attr/exec', label);
  } catch (err) {
    throw new Error(`selinux: set exec label ${label}: ${
      (err as SyscallError).code ?? err}`, { cause: err });
  }
}
// #endregion
