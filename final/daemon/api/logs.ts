// GET /containers/{id}/logs.
import { frame } from '../../stdcopy.ts';
import type { Container } from '../container/container.ts';
import { type LogEntry, readLog } from '../logs.ts';
import { flag, type Req } from './route.ts';

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
  const tailText = request.query.get('tail');
  const tail = !tailText || tailText === 'all' ? undefined : Number(tailText);
  const res = request.res;
  res.writeHead(200, { 'Content-Type': tty
    ? 'application/vnd.docker.raw-stream'
    : 'application/vnd.docker.multiplexed-stream' });
  const send = (entry: LogEntry) => {
    if (!want[entry.stream]) return;
    const payload = Buffer.from(stamped ? `${entry.time} ${entry.log}`
      : entry.log);
    res.write(tty ? payload : frame(entry.stream, payload));
  };
  for (const entry of readLog(container.rec.LogPath, tail)) send(entry);
  const state = container.rec.State;
  if (!flag(request, 'follow') || !(state.Running || state.Restarting)) {
    res.end();
    return Promise.resolve();
  }
  // #endregion
  return new Promise((resolve) => {
    const onEntry = (entry: LogEntry) => {
      if (!stamped) return send(entry);
      for (const log of entry.log.split(/(?<=\n)/)) send({ ...entry, log });
    };
    const done = () => {
      container.log.off('entry', onEntry);
      container.off('exit', done);
      container.off('removed', done);
      res.end();
      resolve();
    };
    container.log.on('entry', onEntry);
    container.once('exit', () => {
      if (!container.rec.State.Restarting) done();
    });
    container.once('removed', done);
    res.on('close', done);
  });
}
