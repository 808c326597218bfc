// /proc/PID/stat, read once here for every chapter: whether a process
// still runs (or is a zombie), how much CPU it used, and when it started,
// which names a process across pid reuse. proc(5) numbers the fields
// from 1; the second, the command name in parentheses, may itself hold
// spaces and parentheses, so the fields are split after its last ")".
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** Field 3: R running, S sleeping, D disk wait, T stopped, Z zombie. */
  state: string;
  /** Field 4: the parent's pid. */
  ppid: number;
  /** Fields 14 and 15: CPU time in user and kernel mode, clock ticks. */
  utime: number;
  stime: number;
  /** Field 22: when it started, in clock ticks since boot. */
  startTime: number;
}

/** Clock ticks per second of those fields: USER_HZ, 100 on Linux. */
export const USER_HZ = 100;

/**
 * The stat of `pid` ("self" and "thread-self" too), or undefined when
 * there is no such process (any more). A zombie still has one.
 */
export function procStat(pid: number | 'self' | 'thread-self')
  : ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw new Error(`read /proc/${pid}/stat: ${code}`, { cause: err });
  }
  // After ") ": field 3 at index 0, so field N at index N - 3.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(f[n - 3]);
  return { state: f[0], ppid: field(4), utime: field(14),
    stime: field(15), startTime: field(22) };
}
