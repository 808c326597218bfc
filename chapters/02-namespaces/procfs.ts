// Files of /proc (proc(5)), each parsed once here for every chapter.
//
// /proc/PID/stat: whether a process still runs (or is a zombie), how
// much CPU it used, and when it started, which names a process across
// pid reuse. proc(5) numbers the fields from 1; the second, the command
// name in parentheses, may itself hold spaces and parentheses, so the
// fields are split after its last ")".
//
// /proc/PID/status: "Key:\tvalue" lines (umask, capabilities, memory).
//
// /proc/self/mountinfo: this mount namespace's mounts, one a line.
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

type Pid = number | 'self' | 'thread-self';

/** Clock ticks per second of those fields: USER_HZ, 100 on Linux. */
export const USER_HZ = 100;

/**
 * The stat of `pid` ("self" and "thread-self" too), or undefined when
 * there is no such process (any more). A zombie still has one.
 */
export function procStat(pid: Pid): ProcStat | undefined {
  const text = readProc(pid, 'stat');
  if (text === undefined) return undefined;
  // After ") ": field 3 at index 0, so field N at index N - 3.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(f[n - 3]);
  return { state: f[0], ppid: field(4), utime: field(14),
    stime: field(15), startTime: field(22) };
}

/**
 * /proc/PID/status as a map: "Umask" -> "0022", "CapEff" ->
 * "000001ffffffffff", "VmRSS" -> "5120 kB"; undefined when there is no
 * such process.
 */
export function procStatus(pid: Pid = 'self')
  : Map<string, string> | undefined {
  const text = readProc(pid, 'status');
  if (text === undefined) return undefined;
  const status = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    status.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return status;
}

/** The text of /proc/PID/`file`, or undefined once the process is gone. */
function readProc(pid: Pid, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw new Error(`read /proc/${pid}/${file}: ${code}`, { cause: err });
  }
}

export interface MountInfo {
  /** Field 4: the directory of the filesystem that is mounted here. */
  root: string;
  /** Field 5: where it is mounted, in this process's root. */
  mountPoint: string;
  /** Field 6: per-mount options ("rw,nosuid,relatime"). */
  options: string[];
  /** After the " - ": the filesystem type ("cgroup2", "overlay"). */
  fsType: string;
  source: string;
  /** Per-superblock options; for cgroup v1, its controllers. */
  superOptions: string[];
}

/**
 * The mounts of /proc/self/mountinfo, or of `text` in its format:
 * "36 25 0:31 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup
 * rw,cpu". Optional fields (shared:N ...) end at the "-"; paths have
 * spaces and backslashes escaped in octal ("\040").
 */
export function mountInfo(
  text = readFileSync('/proc/self/mountinfo', 'utf8')): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0) continue;
    mounts.push({ root: unescape(f[3]), mountPoint: unescape(f[4]),
      options: f[5].split(','), fsType: f[dash + 1],
      source: unescape(f[dash + 2] ?? ''),
      superOptions: (f[dash + 3] ?? '').split(',') });
  }
  return mounts;
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g,
    (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
