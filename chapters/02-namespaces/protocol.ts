// What the engine, the trampoline (nsexec.c) and the re-executed init
// say to each other. The engine spawns the trampoline with fds 3-5 (and
// 6 if needed); the init it clones inherits them. Every message:
//
//   fd 3  sync, a socket, both ways
//         trampoline -> engine  "U\n"  a new user namespace exists: write
//                                     its uid_map and gid_map (-U only)
//         engine -> trampoline  "M"    the maps are written; the
//                                     trampoline becomes root in it
//         trampoline -> engine  "P <pid>\n"  the init's host pid; the
//                                     trampoline then exits
//         engine -> init        "G"    the barrier: the init may go on.
//                                     The engine then closes its end: EOF
//                                     or another byte makes the init exit
//   fd 4  config  engine -> init: one JSON InitConfig, then EOF. EOF
//                 with nothing: an init made ahead (final/fast/) whose
//                 engine is gone; it exits 0
//   fd 5  errors  to the engine (the init makes it close-on-exec)
//                 trampoline: one line "<call> <object>: <ERRNO>" if it
//                 fails; init: "X" right before its execve(2), then a
//                 JSON InitFailure line only if something fails. EOF
//                 after "X" alone means the command runs; EOF before "X"
//                 means the init died during setup
//   fd 6  console, a SOCK_SEQPACKET socket; each message is one byte
//                 "T" carrying descriptors (SCM_RIGHTS, unix(7))
//                 init -> engine: with process.terminal, the master of
//                 the terminal it made inside, sent before "X"
//                 engine -> init: when the config has `handed`, one
//                 message before the config: fds 0-2 for the command,
//                 the rootfs tree, one tree per bind mount (mounts.ts
//                 Trees). A start in a new user namespace (launch.ts
//                 handOver) and the engine's spare inits (final/fast/)
//                 get theirs this way
//
// And two environment variables, trampoline -> init: SKIFF_BIND_FDS,
// the fds of the bind sources it cloned (-b, -B), comma-separated; and
// SKIFF_KEEP_FD, the fd of the path it kept open (-k: an exec's mount
// namespace).
import type { LinuxSeccomp, Process, Spec } from './spec.ts';

export const SYNC_FD = 3;
export const CONFIG_FD = 4;
export const ERROR_FD = 5;
export const CONSOLE_FD = 6;

/** The byte that opens the barrier. */
export const GO = 'G';
/** The byte the init writes just before it execs the command. */
export const EXECING = 'X';

export type InitConfig = ({
  mode: 'start'; spec: Spec; handed?: Handed;
  /**
   * An OCI runtime's create (final/runtime): `fifo` is a FIFO's path.
   * The init reports success when ready, then waits for a reader of it
   * (the runtime's start) before it becomes the command. `state` is
   * the container's OCI state, for hooks the init runs.
   */
  hold?: { fifo: string; state: Record<string, unknown> };
})
  | {
    mode: 'exec';
    process: Process;
    /** The container's mount ns, left open by the trampoline (-k). */
    mountNsFd?: number;
    /** Host pid of the container's PID 1, whose root we take. */
    containerPid?: number;
    /** The container's seccomp filter, which an exec'd process gets. */
    seccomp?: LinuxSeccomp;
  };

export type StartConfig = Extract<InitConfig, { mode: 'start' }>;

/**
 * What came over fd 6 before the config, in one message: fds 0-2 for
 * the command, the rootfs tree, then one tree per bind mount.
 */
export interface Handed {
  binds: number;
}

/** What the init writes on the error pipe when something fails. */
export interface InitFailure {
  message: string;
  exitCode: number;
}
