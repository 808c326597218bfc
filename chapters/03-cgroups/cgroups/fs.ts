// Reading and writing cgroup files. A cgroup is a directory in a special
// filesystem; every knob is a small text file in it. Writes are how we
// ask the kernel for a limit, and the kernel answers a bad value with an
// errno on write(2), so each write names the file and the value.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An error from the cgroup layer: one line for the user, exit 125. */
export class CgroupError extends Error {
  readonly exitCode = 125;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CgroupError';
  }
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}

let traceWrite: ((path: string, value: string) => void) | undefined;

/** Calls `fn` after every write to a cgroup file (the demo's --trace). */
export function traceCgroupWrites(
  fn: ((path: string, value: string) => void) | undefined): void {
  traceWrite = fn;
}

/** Reports a change made other than by a write (bpf(2)) to the trace. */
export function traceCgroupChange(path: string, what: string): void {
  traceWrite?.(path, what);
}

// #region write-file
/** Writes one value into a cgroup file: `memory.max` <- "67108864". */
export function writeCgroupFile(dir: string, file: string,
  value: string | number): void {
  const path = join(dir, file);
  try {
    // One write(2) per value: the kernel parses each write on its own.
    writeFileSync(path, String(value));
  } catch (err) {
    throw new CgroupError(
      `write ${JSON.stringify(String(value))} to ${path}: ${errnoOf(err)}`,
      { cause: err });
  }
  traceWrite?.(path, String(value));
}
// #endregion

export function readCgroupFile(dir: string, file: string): string {
  const path = join(dir, file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new CgroupError(`read ${path}: ${errnoOf(err)}`, { cause: err });
  }
}

/** The file's contents, or undefined when the kernel does not offer it. */
export function tryReadCgroupFile(dir: string, file: string):
  string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function hasCgroupFile(dir: string, file: string): boolean {
  return existsSync(join(dir, file));
}

/** Parses "key value" lines (memory.events, cpu.stat, oom_control). */
export function parseKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) out.set(key, Number(value));
  }
  return out;
}

/** Parses cgroup.procs: one pid per line. */
export function parsePids(text: string | undefined): number[] {
  return (text ?? '').split('\n').filter(Boolean).map(Number);
}
