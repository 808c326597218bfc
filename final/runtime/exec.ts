// `skiff-runtime exec ID`: one more process in a running container,
// described by --process (an OCI process.json, as containerd's shim
// writes it) or by the command after the id with runc's flags on top
// of the container's own process. Chapter 02's execInContainer joins
// the namespaces, chapter 03's cgroup takes it in.
import { closeSync, readFileSync } from 'node:fs';
import {
  execInContainer, type ExecStep,
} from '../../chapters/02-namespaces/exec.ts';
import type { Process } from '../../chapters/02-namespaces/spec.ts';
import { openCgroup } from '../../chapters/03-cgroups/cgroups/manager.ts';
import { writeAtomic } from '../../chapters/04-aufs-overlay/durable.ts';
import { checkProcess } from './bundle.ts';
import { sendConsole } from './console.ts';
import { RUNTIME_INIT } from './init-path.ts';
import { RuntimeError, type Saved, type Store } from './store.ts';
import { relayTerminal } from './terminal.ts';

export interface ExecOptions {
  process?: string;
  args: string[];
  tty?: boolean;
  consoleSocket?: string;
  detach?: boolean;
  pidFile?: string;
  cwd?: string;
  env?: string[];
  user?: string;
  caps?: string[];
  noNewPrivs?: boolean;
  additionalGids?: string[];
  apparmor?: string;
  processLabel?: string;
}

// #region exec
/** Starts the process; its exit code, unless detached. */
export async function exec(store: Store, id: string,
  o: ExecOptions): Promise<number | undefined> {
  const s = store.load(id);
  const status = store.status(s);
  if (status !== 'running' && status !== 'created') {
    throw new RuntimeError(`cannot exec in a ${status} container`);
  }
  const proc = o.process ? readProcess(o.process) : fromFlags(s, o);
  if (proc.terminal && o.detach && !o.consoleSocket) {
    throw new RuntimeError('a terminal with --detach needs --console-socket');
  }
  // #endregion
  // #region exec-join
  const join: ExecStep = { name: 'cgroup', attach(e) {
    openCgroup(s.cgroup).addProcess(e.pid);
  } };
  const handle = await execInContainer(s.pid, proc, { steps: [join],
    stdio: ['inherit', 'inherit', 'inherit'], init: RUNTIME_INIT,
    seccomp: s.spec.linux.seccomp });
  let stopRelay = () => {};
  try {
    if (handle.console !== undefined) {
      if (o.consoleSocket) {
        sendConsole(o.consoleSocket, handle.console);
        closeSync(handle.console);
      } else stopRelay = relayTerminal(handle.console);
    }
    if (o.pidFile) writeAtomic(o.pidFile, String(handle.pid));
  } catch (err) {
    handle.kill('SIGKILL'); // refused: the process does not stay
    throw err;
  }
  if (o.detach) return undefined;
  const st = await handle.wait();
  stopRelay();
  return st.code;
}
// #endregion

function readProcess(file: string): Process {
  let p: Record<string, any>;
  try {
    p = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RuntimeError(`read process ${file}: ${(err as Error).message}`,
      { cause: err });
  }
  return checkProcess(p);
}

/** The container's process with the command and runc's flags. */
function fromFlags(s: Saved, o: ExecOptions): Process {
  if (o.args.length === 0) throw new RuntimeError('exec: no command given');
  const base = s.spec.process;
  const p: Process = { ...base, args: o.args, terminal: !!o.tty,
    consoleSize: undefined, env: [...base.env, ...o.env ?? []],
    cwd: o.cwd ?? base.cwd, user: { ...base.user } };
  if (o.user) {
    const [uid, gid] = o.user.split(':').map(Number);
    if (!Number.isInteger(uid) || (gid !== undefined &&
      !Number.isInteger(gid))) {
      throw new RuntimeError(`--user "${o.user}": want UID[:GID]`);
    }
    p.user = { ...p.user, uid, gid: gid ?? p.user.gid };
  }
  if (o.noNewPrivs) p.noNewPrivileges = true;
  if (o.additionalGids?.length) {
    p.user.additionalGids = o.additionalGids.map((g) => {
      if (!/^\d+$/.test(g)) {
        throw new RuntimeError(`--additional-gids "${g}": not a number`);
      }
      return Number(g);
    });
  }
  if (o.apparmor) p.apparmorProfile = o.apparmor;
  if (o.processLabel) p.selinuxLabel = o.processLabel;
  if (o.caps?.length && p.capabilities) {
    const add = (l?: string[]) => [...new Set([...l ?? [], ...o.caps!])];
    const c = p.capabilities;
    p.capabilities = { bounding: add(c.bounding), effective: add(c.effective),
      permitted: add(c.permitted), inheritable: c.inheritable,
      ambient: c.ambient };
  }
  return p;
}
