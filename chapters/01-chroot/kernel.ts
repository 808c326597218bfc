// The kernel bridge: how every chapter calls into the kernel.
//
// Node has no binding for chroot(2), unshare(2), mount(2) and friends, so
// we call libc's wrappers through koffi, a foreign-function interface. A
// wrapper returns -1 and sets errno on failure; `syscall` turns that into
// a thrown SyscallError that names the call, its arguments and the errno,
// the way Node's own fs errors do: `chroot("/x"): ENOENT`.
import koffi from 'koffi';
import { constants } from 'node:os';

// #region load-libc
export const libc = koffi.load('libc.so.6');
// #endregion

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) {
  if (!errnoNames.has(num)) errnoNames.set(num, name);
}

/** The symbolic name of an errno value: 2 -> "ENOENT". */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

// #region syscall-error
export class SyscallError extends Error {
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly detail: string,
    readonly errno: number,
  ) {
    const code = errnoName(errno);
    super(`${syscall}(${detail}): ${code}`);
    this.name = 'SyscallError';
    this.code = code;
  }
}
// #endregion

/** How an argument is shown in an error: strings quoted, the rest plain. */
function show(arg: unknown): string {
  if (typeof arg === 'string') return JSON.stringify(arg);
  if (Array.isArray(arg)) return `[${arg.map(show).join(', ')}]`;
  if (arg === null || arg === undefined) return 'NULL';
  if (typeof arg === 'object') return '…';
  return String(arg);
}

type Describe<A extends unknown[]> = (...args: A) => string;

// #region declare
/**
 * Declares a libc function from its C prototype and returns a JS function
 * that throws SyscallError when the call returns -1. `describe` formats
 * the arguments for the error message (default: all of them).
 */
export function syscall<A extends unknown[] = any[]>(
  prototype: string,
  describe?: Describe<A>,
): (...args: A) => number {
  const name = /(\w+)\s*\(/.exec(prototype)?.[1] ?? prototype;
  const fn = libc.func(prototype);
  return (...args: A): number => {
    const ret = fn(...args);
    if (ret === -1 || ret === -1n) {
      const errno = koffi.errno();
      const detail = describe ? describe(...args) : args.map(show).join(', ');
      throw new SyscallError(name, detail, errno);
    }
    return typeof ret === 'bigint' ? Number(ret) : ret;
  };
}
// #endregion

/** A libc function whose return value is not an error indicator. */
export function plain<F = (...args: any[]) => any>(prototype: string): F {
  return libc.func(prototype) as unknown as F;
}

export { koffi };
