// One container start in this process, for bench/run.ts's "which step
// costs what": chapter 02's start with the given steps, busybox `true`.
import { ALL_NAMESPACES, defaultSpec } from
  '../chapters/02-namespaces/defaults.ts';
import { startContainer } from '../chapters/02-namespaces/start.ts';
import type { StartStep } from '../chapters/02-namespaces/steps.ts';
import { netRootfs, USERNS } from '../chapters/05-network/testnet.ts';
import { FAST_INIT, type SpareInits } from '../final/fast/spare.ts';
import { withSecurity } from '../chapters/06-security/defaults.ts';

/**
 * Starts busybox `true` with `steps` and waits for its end. The rootfs
 * is chapter 05's test copy, which has the /etc files the network step
 * binds: on the shared cachedRootfs() the step would create them, as
 * Docker does in a container's own layer, and change the cache every
 * other test copies. Without a user namespace where the machine
 * refuses one (vm-run's guest), as chapter 05's tests.
 */
export async function startOnce(id: string, steps: StartStep[],
  o: { userns?: boolean; spares?: SpareInits; secure?: boolean } = {})
  : Promise<void> {
  const plain = defaultSpec({ rootfs: netRootfs(), args: ['true'],
    readonly: true, namespaces: USERNS && o.userns !== false ? undefined
      : ALL_NAMESPACES.filter((n) => n !== 'user') });
  // secure: chapter 06's confinement (caps, seccomp), built each time
  // as the engine builds it for each container, in the engine's init.
  const spec = o.secure ? withSecurity(plain) : plain;
  const c = await startContainer(spec, { id, steps,
    launcher: o.spares?.launch,
    stdio: ['ignore', 'ignore', 'ignore'],
    init: o.secure ? FAST_INIT : undefined });
  await c.wait();
  await c.destroy();
}
