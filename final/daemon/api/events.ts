// GET /events: what changed in the daemon, as JSON messages one a
// line. With `since` or `until` the remembered past comes first
// (events.ts keeps the last 256); then, unless `until` has passed, new
// events as they happen, till `until` or till the client goes.
import type { Engine } from '../engine.ts';
import { BadRequest } from '../errors.ts';
import { eventMatches } from '../events-filter.ts';
import type { EngineEvent, Events } from '../events.ts';
import { parseFilters } from '../filters.ts';
import { parseTimestamp } from '../../timestamps.ts';
import { route, type Req, type Route } from './route.ts';

export function eventRoutes(engine: Engine): Route[] {
  return [route('GET', '/events', (request) =>
    streamEvents(engine.events, request))];
}

/** `since` or `until` as ms, or undefined when absent (query.ts checked). */
function eventTime(request: Req, name: string): number | undefined {
  const value = request.query.get(name);
  return value ? parseTimestamp(value) : undefined;
}

/** Bytes a client may leave unread before events to it are dropped. */
const LAGGING = 1 << 20;

// #region events-stream
function streamEvents(events: Events, request: Req): Promise<void> {
  const since = eventTime(request, 'since');
  const until = eventTime(request, 'until');
  if (since !== undefined && until !== undefined && until < since) {
    throw new BadRequest(`events: since (${request.query.get('since')}) ` +
      `cannot be after until (${request.query.get('until')})`);
  }
  const filters = parseFilters(request.query.get('filters'));
  const res = request.res;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const send = (event: EngineEvent) => {
    // A client that stops reading loses events rather than the daemon
    // its memory (moby's publisher skips one that lags 100 ms).
    if (res.writableLength > LAGGING || !eventMatches(event, filters)) return;
    res.write(`${JSON.stringify(event)}\n`);
  };
  // past() and subscribe() in one turn of the loop: none lost between.
  if (since !== undefined || until !== undefined) {
    for (const event of replay(events.past(), since, until)) send(event);
  }
  if (until !== undefined && until <= Date.now()) {
    res.end();
    return Promise.resolve();
  }
  return follow(events, request, send, until);
}
// #endregion

/** The remembered events between `since` and `until` (ms). */
function replay(past: EngineEvent[], since = -Infinity, until = Infinity)
  : EngineEvent[] {
  return past.filter((event) => event.timeNano / 1e6 >= since &&
    event.timeNano / 1e6 <= until);
}

/**
 * New events until `until` (ms) or the client's end; both unsubscribe,
 * so a client that goes leaves no listener behind.
 */
function follow(events: Events, request: Req,
  send: (event: EngineEvent) => void, until?: number): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = events.subscribe(send);
    const done = () => {
      stop();
      clearTimeout(timer);
      request.res.end();
      resolve();
    };
    // setTimeout holds at most 2^31-1 ms (24.8 days): wake, look again.
    const wait = () => {
      const left = until! - Date.now();
      if (left <= 0) return done();
      timer = setTimeout(wait, Math.min(left, 2 ** 31 - 1));
    };
    if (until !== undefined) wait();
    request.res.on('close', done);
  });
}
