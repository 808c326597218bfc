// What skiff-runtime adds to the engine's init (an InitLayer, see
// chapters/02-namespaces/process.ts): the hooks that run inside the
// container, and personality(2).
import { readlinkSync } from 'node:fs';
import { syscall } from '../../chapters/01-chroot/kernel.ts';
import type { InitLayer } from '../../chapters/02-namespaces/process.ts';
import type { StartConfig } from '../../chapters/02-namespaces/protocol.ts';
import { runHooks } from './hooks.ts';

const personality = syscall<[number]>(
  'int personality(unsigned long persona)');
/** From <sys/personality.h>. */
export const PERSONALITIES: Record<string, number> = {
  LINUX: 0x0000, LINUX32: 0x0008,
};

/** Our host pid, read while the host's /proc is still mounted. */
let hostPid = 0;

function state(config: StartConfig, status: string): object {
  return { ...config.hold?.state, status, pid: hostPid };
}

// #region lifecycle-layer
export const lifecycle: InitLayer = {
  beforePivot(config) {
    hostPid = Number(readlinkSync('/proc/self'));
    const p = config.spec.linux.personality;
    if (p) personality(PERSONALITIES[p.domain]);
    runHooks('createContainer', config.spec.hooks?.createContainer,
      state(config, 'created'));
  },
  started(config) {
    runHooks('startContainer', config.spec.hooks?.startContainer,
      state(config, 'running'));
  },
};
// #endregion
