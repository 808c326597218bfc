// Signals by name or number, as `docker kill -s`, `docker stop -s` and
// `--stop-signal` take them: "KILL", "SIGKILL", "kill", "9", "RTMIN+3".
// One table for the whole book: the kernel's numbers (signal(7)), as
// Node knows them, plus the real-time signals Node does not name.
import { constants } from 'node:os';

// glibc keeps the kernel's first two real-time signals (32, 33) for
// its threads: programs see SIGRTMIN as 34, and so does Docker.
const RTMIN = 34;
const RTMAX = 64;

/** "SIGKILL" -> 9, and each number's first name (SIGABRT, not SIGIOT). */
const byName = new Map<string, number>(Object.entries(constants.signals));
const byNumber = new Map<number, string>();
for (const [name, n] of byName) if (!byNumber.has(n)) byNumber.set(n, name);

export class SignalError extends Error {
  readonly exitCode = 125;
}

/** The number of a signal given by name or number; throws if unknown. */
export function parseSignal(sig: string | number): number {
  const text = String(sig).trim();
  let n: number | undefined;
  if (/^\d+$/.test(text)) {
    n = Number(text);
  } else {
    const name = text.toUpperCase().replace(/^SIG/, '');
    const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
    n = rt ? (rt[1] === 'MIN' ? RTMIN : RTMAX) +
      (rt[2] === '-' ? -1 : 1) * Number(rt[3] ?? 0)
      : byName.get(`SIG${name}`);
  }
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > RTMAX ||
    (n >= 32 && n < RTMIN)) {
    throw new SignalError(`invalid signal: ${sig}`);
  }
  return n;
}

/** "SIGKILL" for 9, "SIGRTMIN+2" for 36; the number itself if unnamed. */
export function signalName(n: number): string {
  if (n === RTMIN) return 'SIGRTMIN';
  if (n > RTMIN && n <= RTMAX) return `SIGRTMIN+${n - RTMIN}`;
  return byNumber.get(n) ?? `${n}`;
}
