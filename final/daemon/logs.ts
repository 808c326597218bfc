// Container logs the way docker's json-file driver keeps them: one JSON
// object per line, {"log": "...", "stream": "stdout", "time": RFC 3339
// with nanoseconds}, so stdout and stderr stay apart and every chunk has
// a time. Followers (`logs -f`, attach) get chunks as they are written.
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from
  'node:fs';

export type StreamName = 'stdout' | 'stderr';

export interface LogEntry {
  log: string;
  stream: StreamName;
  time: string;
}

const started = process.hrtime.bigint();
const startedMs = BigInt(Date.now()) * 1_000_000n;

// #region rfc3339nano
/** Now as Go's RFC3339Nano: 2026-11-22T07:33:47.123456789Z. */
export function nowNano(): string {
  const ns = startedMs + (process.hrtime.bigint() - started);
  const iso = new Date(Number(ns / 1_000_000n)).toISOString();
  const frac = String(ns % 1_000_000_000n).padStart(9, '0')
    .replace(/0+$/, '');
  return iso.slice(0, 19) + (frac ? `.${frac}` : '') + 'Z';
}
// #endregion

// #region json-file
export class LogFile extends EventEmitter {
  private fd: number;
  /** Lines lost to a failed write (a full disk): counted, not fatal. */
  dropped = 0;
  /** A short write left half a line: the next write starts afresh. */
  private torn = false;

  constructor(readonly path: string) {
    super();
    this.fd = openSync(path, 'a', 0o640);
  }

  /** Appends a chunk, one entry per line, partial lines as they come. */
  write(stream: StreamName, chunk: Buffer): void {
    const text = chunk.toString('utf8');
    const time = nowNano();
    const lines: string[] = [];
    for (const log of text.split(/(?<=\n)/)) {
      if (log) lines.push(JSON.stringify({ log, stream, time }) + '\n');
    }
    if (this.fd >= 0) this.append(lines);
    this.emit('entry', { log: text, stream, time });
  }
// #endregion

  // #region log-full (unused)
  // dockerd keeps a container running when its log cannot be written:
  // the lines are lost, the container is not. A write(2) that fails
  // (ENOSPC, EDQUOT, EIO) or writes short drops those lines; the next
  // one that fits starts on a fresh line, so the file stays one JSON
  // object per line. A loss and the recovery are each logged once.
  private failing = false;

  private append(lines: string[]): void {
    const data = Buffer.from((this.torn ? '\n' : '') + lines.join(''));
    let written = 0;
    let cause = 'short write';
    try {
      written = writeSync(this.fd, data);
    } catch (err) {
      cause = (err as Error).message;
    }
    // Nothing written leaves the file as it was, torn or not.
    if (written > 0) this.torn = written < data.length;
    if (written === data.length) {
      if (this.failing) {
        console.error(`skiff daemon: log ${this.path}: writing again ` +
          `(${this.dropped} lines dropped so far)`);
      }
      this.failing = false;
      return;
    }
    if (!this.failing) {
      console.error(`skiff daemon: log ${this.path}: ${cause}; ` +
        'dropping lines until it fits');
    }
    this.failing = true;
    this.dropped += lines.length;
  }
  // #endregion

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.emit('close');
  }
}

/** The entries of a log file, the last `tail` of them when given. */
export function readLog(path: string, tail?: number): LogEntry[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  const picked = tail === undefined ? lines
    : tail <= 0 ? [] : lines.slice(-tail);
  // A line a full disk tore in two is skipped, not fatal to `logs`.
  return picked.flatMap((l) => {
    try {
      return [JSON.parse(l) as LogEntry];
    } catch {
      return [];
    }
  });
}
