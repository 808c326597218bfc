// `skiff-runtime create ID --bundle DIR`: the container exists, set up
// to the last step, and waits; `start` will let it run the command.
// The very start sequence the engine uses (chapter 02's startContainer
// with chapter 03's cgroup step), with the init held at exec.fifo.
import { chownSync, closeSync, writeFileSync } from 'node:fs';
import { syscall } from '../../chapters/01-chroot/kernel.ts';
import {
  type Container, startContainer, type StdioEntry,
} from '../../chapters/02-namespaces/start.ts';
import type { Spec } from '../../chapters/02-namespaces/spec.ts';
import type { StartStep } from '../../chapters/02-namespaces/steps.ts';
import { procStat } from '../../chapters/02-namespaces/procfs.ts';
import { cgroupPathOf, cgroupStep } from '../../chapters/03-cgroups/step.ts';
import {
  DEFAULT_DEVICE_RULES,
} from '../../chapters/03-cgroups/controllers/devices.ts';
import { writeAtomic } from '../../chapters/04-aufs-overlay/durable.ts';
import { type Bundle, loadBundle } from './bundle.ts';
import { sendConsole } from './console.ts';
import { runHooks } from './hooks.ts';
import { RUNTIME_INIT } from './init-path.ts';
import {
  OCI_VERSION, RuntimeError, type Saved, type Store,
} from './store.ts';

const mkfifo = syscall<[string, number]>(
  'int mkfifo(const char *path, uint32_t mode)');

export interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** `run` in the foreground: a terminal is ours to relay. */
  foreground?: boolean;
  /** Our terminal's size, for a relayed one without its own. */
  consoleSize?: { height: number; width: number };
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
}

export interface Created {
  saved: Saved;
  container: Container;
}

// #region create
export async function create(store: Store, id: string,
  o: CreateOptions): Promise<Created> {
  const b = loadBundle(o.bundle);
  checkConsole(b.spec, o);
  b.spec.process.consoleSize ??= o.consoleSize;
  store.claim(id);
  let container: Container | undefined;
  try {
    const fifo = store.fifo(id);
    mkfifo(fifo, 0o600);
    // Opened for writing by the container's root, maybe another uid.
    const [uid, gid] = rootIds(b.spec);
    chownSync(fifo, uid, gid);
    const state = { ociVersion: OCI_VERSION, id, bundle: b.dir,
      annotations: b.annotations };
    container = await startContainer(b.spec, {
      id, steps: runtimeSteps(b, state), init: RUNTIME_INIT,
      stdio: o.stdio ?? ['inherit', 'inherit', 'inherit'],
      hold: { fifo, state },
    });
    const saved = save(store, b, id, container.pid);
    if (o.pidFile) writeAtomic(o.pidFile, String(container.pid));
    handOverConsole(container, o);
    return { saved, container };
  } catch (err) {
    // A refusal after the start (a pid file, the console socket)
    // leaves nothing either: the init, its cgroup, the state dir.
    await container?.destroy().catch(() => {});
    store.forget(id);
    throw err;
  }
}
// #endregion

function save(store: Store, b: Bundle, id: string, pid: number): Saved {
  const saved: Saved = {
    id, bundle: b.dir, pid, startTime: procStat(pid)?.startTime ?? 0,
    created: new Date().toISOString(), annotations: b.annotations,
    cgroup: cgroupPathOf(b.spec, id, ''), spec: b.spec, hooks: b.hooks,
  };
  store.save(saved);
  return saved;
}

function handOverConsole(c: Container, o: CreateOptions): void {
  if (c.console === undefined || !o.consoleSocket) return;
  try {
    sendConsole(o.consoleSocket, c.console);
  } finally {
    closeSync(c.console);
  }
}

/** The host ids of the container's root (its user namespace's 0). */
function rootIds(spec: Spec): [number, number] {
  const host = (maps?: { containerID: number; hostID: number }[]) =>
    maps?.find((m) => m.containerID === 0)?.hostID ?? 0;
  return [host(spec.linux.uidMappings), host(spec.linux.gidMappings)];
}

/** runc's rules: a terminal needs somewhere to go, and only then. */
function checkConsole(spec: Spec, o: CreateOptions): void {
  if (spec.process.terminal && !o.consoleSocket && !o.foreground) {
    throw new RuntimeError('process.terminal is true: --console-socket ' +
      'is needed to hand the terminal over');
  }
  if (!spec.process.terminal && o.consoleSocket) {
    throw new RuntimeError('--console-socket given but process.terminal ' +
      'is false');
  }
}

// #region runtime-steps
/**
 * The steps: chapter 03's cgroup (at linux.cgroupsPath, else /ID, with
 * the spec's device rules and runc's always-allowed ones after them),
 * oom_score_adj, and the hooks the runtime runs itself once the
 * container's namespaces exist.
 */
function runtimeSteps(b: Bundle, state: object): StartStep[] {
  const r = b.spec.linux.resources;
  if (r?.devices) {
    r.devices = [...r.devices, ...DEFAULT_DEVICE_RULES.filter((d) =>
      d.allow)];
  }
  return [cgroupStep({ parent: '', defaultDevices: false }), {
    name: 'oom-score',
    attach(c) {
      const adj = c.spec.process.oomScoreAdj;
      if (adj !== undefined) {
        writeFileSync(`/proc/${c.pid}/oom_score_adj`, String(adj));
      }
    },
  }, {
    name: 'hooks',
    attach(c) {
      // runtime-tools wants "created" here, though the spec's state
      // has "creating" for a container not yet created.
      const now = { ...state, status: 'created', pid: c.pid };
      runHooks('prestart', b.hooks.prestart, now);
      runHooks('createRuntime', b.hooks.createRuntime, now);
    },
  }];
}
// #endregion
