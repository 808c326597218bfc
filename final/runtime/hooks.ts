// OCI hooks (runtime-spec config.md "POSIX-platform Hooks"): programs
// the runtime runs at points of a container's life, each given the
// container's state as JSON on its stdin. Where they run:
//   prestart, createRuntime  by create, in the runtime's namespaces,
//                            once the container's namespaces exist
//   createContainer          by the init, in the container's mount
//                            namespace, before pivot_root(2)
//   startContainer           by the init, after start, before the
//                            user's process
//   poststart                by start, once the process runs
//   poststop                 by delete, once the container is gone
import { spawnSync } from 'node:child_process';
import type { Hook } from '../../chapters/02-namespaces/spec.ts';

// #region run-hooks
/** Runs `hooks` in order; the first that fails throws, naming it. */
export function runHooks(name: string, hooks: Hook[] | undefined,
  state: object): void {
  for (const h of hooks ?? []) {
    const env = Object.fromEntries((h.env ?? []).map((e) => {
      const i = e.indexOf('=');
      return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
    }));
    const r = spawnSync(h.path, (h.args ?? [h.path]).slice(1), {
      argv0: h.args?.[0] ?? h.path, env, input: JSON.stringify(state),
      timeout: h.timeout ? h.timeout * 1000 : undefined,
      killSignal: 'SIGKILL', stdio: ['pipe', 'pipe', 'pipe'],
    });
    const what = `${name} hook ${h.path}`;
    // A hook need not read the state: one that exits first is judged
    // by its exit status, as runc's (Go's os/exec ignores EPIPE).
    const epipe = (r.error as NodeJS.ErrnoException)?.code === 'EPIPE';
    if (r.error && !epipe) {
      const code = (r.error as NodeJS.ErrnoException).code;
      throw new Error(code === 'ETIMEDOUT'
        ? `${what}: timed out after ${h.timeout} s`
        : `${what}: ${code ?? r.error.message}`, { cause: r.error });
    }
    if (r.status !== 0) {
      const why = r.signal ? `killed by ${r.signal}`
        : `exit status ${r.status}`;
      const said = r.stderr.toString().trim().split('\n')[0];
      throw new Error(`${what}: ${why}${said ? `: ${said}` : ''}`);
    }
  }
}
// #endregion

/**
 * poststart and poststop: a hook that fails is a warning, and the rest
 * still run (config.md: "the remaining hooks and lifecycle continue").
 */
export function runHooksWarning(name: string, hooks: Hook[] | undefined,
  state: object, warn: (msg: string) => void): void {
  for (const h of hooks ?? []) {
    try {
      runHooks(name, [h], state);
    } catch (err) {
      warn((err as Error).message);
    }
  }
}
