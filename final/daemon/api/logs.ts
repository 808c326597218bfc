// GET /containers/{id}/logs.
import { frame } from '../../stdcopy.ts';
import type { Container } from '../container/container.ts';
import { type LogEntry, readLog } from '../logs.ts';
import { rfc3339Ns, unixNs } from '../../timestamps.ts';
import { flag, type Req } from './route.ts';

const NEVER = BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000_000n;
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/**
 * `since` and `until` in ns: docker's clients send Unix seconds with an
 * optional fraction ("1733331600.123456789"), turning durations and
 * dates into that themselves; 0 or absent means no bound. (query.ts
 * refused anything else at the door.)
 */
function window(request: Req): { since: bigint; until: bigint } {
  const bound = (name: string, none: bigint) => {
    const text = request.query.get(name);
    return !text || text === '0' ? none : unixNs(text) ?? none;
  };
  return { since: bound('since', 0n), until: bound('until', NEVER) };
}

/**
 * `tail`: the last N lines; "all", a negative number or one Go's Atoi
 * cannot read is every line, as dockerd's daemon/logs.go reads it (a
 * client's `tail=abc` is answered, not refused, by dockerd 20.10 too).
 */
function tailLines(text: string | null): number | undefined {
  return text && /^[+-]?\d+$/.test(text) && Number(text) >= 0
    ? Number(text) : undefined;
}

/**
 * What is in the json-file log (the last `tail`), then with follow=1
 * what comes until the container stops. Without a terminal the streams
 * are multiplexed (stdcopy frames).
 */
// #region logs-read
export function logs(container: Container, request: Req): Promise<void> {
  const tty = !!container.rec.Config.Tty;
  const want = { stdout: flag(request, 'stdout'),
    stderr: flag(request, 'stderr') };
  const stamped = flag(request, 'timestamps');
  const tail = tailLines(request.query.get('tail'));
  const { since, until } = window(request);
  const res = request.res;
  res.writeHead(200, { 'Content-Type': tty
    ? 'application/vnd.docker.raw-stream'
    : 'application/vnd.docker.multiplexed-stream' });
  const send = (entry: LogEntry) => {
    const at = rfc3339Ns(entry.time) ?? 0n;
    if (!want[entry.stream] || at < since || at > until) return;
    const payload = Buffer.from(stamped ? `${entry.time} ${entry.log}`
      : entry.log);
    res.write(tty ? payload : frame(entry.stream, payload));
  };
  for (const entry of readLog(container.rec.LogPath, tail)) send(entry);
  const state = container.rec.State;
  if (!flag(request, 'follow') || !(state.Running || state.Restarting) ||
    until <= nowNs()) {
    res.end();
    return Promise.resolve();
  }
  // #endregion
  // The headers now, as dockerd's: a client of a quiet container knows
  // the stream is open (docker-py's logs(stream=True) waits for them).
  res.flushHeaders();
  return new Promise((resolve) => {
    const onEntry = (entry: LogEntry) => {
      if (!stamped) return send(entry);
      for (const log of entry.log.split(/(?<=\n)/)) send({ ...entry, log });
    };
    // Every listener goes with the stream, a client gone included.
    const onExit = () => {
      if (!container.rec.State.Restarting) done();
    };
    const done = () => {
      if (res.writableEnded) return;
      container.log.off('entry', onEntry);
      container.off('exit', onExit);
      container.off('removed', done);
      res.off('close', done);
      res.end();
      resolve();
    };
    container.log.on('entry', onEntry);
    // `until` in the future ends the follow then, as dockerd's does.
    const end = until === NEVER ? undefined : setTimeout(done,
      Number((until - nowNs()) / 1_000_000n) + 1);
    res.once('close', () => clearTimeout(end));
    container.on('exit', onExit);
    container.once('removed', done);
    res.on('close', done);
  });
}
