// Demo: chapter 05's container, in chapter 03's cgroup (its devices
// rules are half of what stops mknod), with root's powers taken away.
//
//   sudo npx tsx chapters/06-security/run.ts [--cap-add CAP]...
//     [--cap-drop CAP]... [--privileged] [--seccomp FILE|unconfined]
//     [--apparmor PROFILE] [--no-new-privileges] [chapter 05's flags]
//     <image> [command] [args...]
//
// Without flags, docker's defaults: 14 capabilities, skiff's seccomp
// profile, AppArmor's skiff-default where the kernel has AppArmor.
// --seccomp takes a profile in Docker's JSON format.
import { readFileSync } from 'node:fs';
import { extend, type Flag, mainOf } from '../02-namespaces/chain.ts';
import { demo as chapter05, type Options as Previous } from
  '../05-network/run.ts';
import {
  SECURE_INIT, type SecurityChoices, withSecurity,
} from './defaults.ts';

type Options = Previous & SecurityChoices;

const flags: Record<string, Flag<Options>> = {
  '--cap-add': { arg: 'CAP', many: true,
    set: (o, v) => { o.capAdd!.push(v); } },
  '--cap-drop': { arg: 'CAP', many: true,
    set: (o, v) => { o.capDrop!.push(v); } },
  '--privileged': { set: (o) => { o.privileged = true; } },
  '--seccomp': { arg: 'FILE|unconfined',
    set: (o, v) => { o.seccomp = profileText(v); } },
  '--apparmor': { arg: 'PROFILE', set: (o, v) => { o.apparmor = v; } },
  '--no-new-privileges': { set: (o) => { o.noNewPrivileges = true; } },
};

// #region main
export const demo = extend<Previous, SecurityChoices>(chapter05, {
  flags,
  options: () => ({ capAdd: [], capDrop: [] }),
  spec: (spec, o) => withSecurity(spec, o),
  // SECURE_INIT: chapter 02's init with this chapter's layer.
  init: SECURE_INIT,
});
// #endregion

/** A profile's text, read here as the docker CLI reads it. */
function profileText(v: string): string {
  if (v === 'unconfined') return v;
  try {
    return readFileSync(v, 'utf8');
  } catch (err) {
    throw new Error(`seccomp profile "${v}": ${
      (err as NodeJS.ErrnoException).code}`, { cause: err });
  }
}

mainOf(import.meta.url, demo);
