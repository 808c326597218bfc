// What the engine and the re-executed init say to each other. The init
// inherits three sockets from the engine, through the trampoline:
//
//   fd 3  sync    trampoline: "U" (map my ids) and "P <pid>"; engine: "G"
//                 (the barrier: the init may go on)
//   fd 4  config  the engine writes one JSON InitConfig, then EOF
//   fd 5  errors  close-on-exec: the init writes "X" right before its
//                 execve(2), then an error line only if that fails. EOF
//                 after "X" alone means the command runs; EOF before "X"
//                 means the init died during setup.
//   fd 6  console with process.terminal only: the init makes the
//                 terminal inside and sends its master (SCM_RIGHTS)
//                 before "X"
//
// An init in a new user namespace is made with fd 6 and no stdio, and
// with its config (`handed`) it finds there what it would otherwise
// inherit: its stdio, and clones of its rootfs and bind sources
// (mounts.ts Trees), made once its namespaces exist (launch.ts
// handOver).
import type { LinuxSeccomp, Process, Spec } from './spec.ts';

export const SYNC_FD = 3;
export const CONFIG_FD = 4;
export const ERROR_FD = 5;
export const CONSOLE_FD = 6;

/** The byte that opens the barrier. */
export const GO = 'G';
/** The byte the init writes just before it execs the command. */
export const EXECING = 'X';

export type InitConfig = ({ mode: 'start'; spec: Spec; handed?: Handed })
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
