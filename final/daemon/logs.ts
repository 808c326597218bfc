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

  constructor(readonly path: string) {
    super();
    this.fd = openSync(path, 'a', 0o640);
  }

  /** Appends a chunk, one entry per line, partial lines as they come. */
  write(stream: StreamName, chunk: Buffer): void {
    const text = chunk.toString('utf8');
    const time = nowNano();
    let lines = '';
    for (const log of text.split(/(?<=\n)/)) {
      if (log) lines += JSON.stringify({ log, stream, time }) + '\n';
    }
    if (this.fd >= 0) writeSync(this.fd, lines);
    this.emit('entry', { log: text, stream, time });
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.emit('close');
  }
}
// #endregion

/** The entries of a log file, the last `tail` of them when given. */
export function readLog(path: string, tail?: number): LogEntry[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  const picked = tail === undefined ? lines
    : tail <= 0 ? [] : lines.slice(-tail);
  return picked.map((l) => JSON.parse(l) as LogEntry);
}
