// Demo: run a command in a container, every namespace on by default;
// switch them off one at a time to watch the isolation disappear.
//
//   sudo npx tsx chapters/02-namespaces/run.ts [--no-uts] [--no-ipc]
//     [--no-pid] [--no-mnt] [--no-net] [--no-user] [--no-cgroup]
//     [--hostname NAME] [--init] <rootfs> <command> [args...]
//
// Later chapters' demos start from this one (chain.ts): they import
// `demo` and extend it with their flags and their start step.
import { type Demo, type Flag, mainOf, UsageError } from './chain.ts';
import { ALL_NAMESPACES, defaultSpec } from './defaults.ts';
import type { NamespaceType } from './spec.ts';

export interface Options {
  /** The root directory (from chapter 04 on, made from an image). */
  rootfs: string;
  args: string[];
  /** Namespaces switched off. */
  off: Set<NamespaceType>;
  hostname?: string;
  init: boolean;
  /** From the image, in chapter 04 on. */
  env?: string[];
  cwd?: string;
}

const off = (ns: NamespaceType): Flag<Options> =>
  ({ set: (o) => o.off.add(ns) });

// #region main
export const demo: Demo<Options> = {
  flags: {
    '--no-uts': off('uts'), '--no-ipc': off('ipc'), '--no-pid': off('pid'),
    '--no-mnt': off('mount'), '--no-net': off('network'),
    '--no-user': off('user'), '--no-cgroup': off('cgroup'),
    '--hostname': { arg: 'NAME', set: (o, v) => { o.hostname = v; } },
    '--init': { set: (o) => { o.init = true; } },
  },
  operands: '<rootfs> <command> [args...]',
  options: () => ({ rootfs: '', args: [], off: new Set(), init: false }),
  read(o, [rootfs, ...args]) {
    if (!rootfs || args.length === 0) throw new UsageError();
    Object.assign(o, { rootfs, args });
  },
  spec: (o) => defaultSpec({ ...o,
    namespaces: ALL_NAMESPACES.filter((ns) => !o.off.has(ns)) }),
  steps: () => [],
};
// #endregion

mainOf(import.meta.url, demo);
