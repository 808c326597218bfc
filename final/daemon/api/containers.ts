// The container routes: /containers/... in Docker's paths and JSON.
import type { Container } from '../container/container.ts';
import { createWarnings } from '../container/ports.ts';
import type { Containers } from '../container/registry.ts';
import { copyRoutes } from '../copy.ts';
import type { Engine } from '../engine.ts';
import { BadRequest, NotModified } from '../errors.ts';
import type { Execs } from '../execs.ts';
import { containerChanges } from '../container/diff.ts';
import { parseFilters } from '../filters.ts';
import { listContainers } from './container-filters.ts';
import { inspect, summary } from './inspect.ts';
import { logs } from './logs.ts';
import { stats, top } from './processes.ts';
import { flag, ID, num, param, route, type Req, type Route } from './route.ts';

// #region routes-containers
export function containerRoutes(engine: Engine, execs: Execs): Route[] {
  const containers = engine.containers;
  const named = (request: Req) => containers.get(param(request));
  const at = (action: string) => `/containers/${ID}/${action}`;
  return [
    route('GET', '/containers/json', (request) =>
      listContainers(engine, request).map((container) =>
        summary(container, engine.net))),
    route('POST', '/containers/create', (request) => {
      const created = containers.create(request.body,
        request.query.get('name') ?? undefined);
      request.res.statusCode = 201;
      return { Id: created.id,
        Warnings: createWarnings(created.rec.HostConfig) };
    }),
    route('GET', at('json'), (request) =>
      inspect(engine, named(request), execs)),
    route('POST', at('start'), (request) =>
      containers.start(named(request))),
    route('POST', at('stop'), (request) => containers.stop(named(request),
      num(request, 't'), request.query.get('signal') ?? undefined)),
// #endregion
    route('POST', at('restart'), (request) =>
      restart(containers, named(request), num(request, 't'))),
    route('POST', at('kill'), (request) => containers.kill(named(request),
      request.query.get('signal') || 'SIGKILL')),
    route('POST', at('wait'), (request) =>
      wait(containers, named(request), request)),
    route('POST', at('resize'), (request) =>
      resize(containers, named(request), request)),
    route('DELETE', `/containers/${ID}`, (request) => containers.remove(
      named(request), flag(request, 'force'), flag(request, 'v'))),
    route('GET', at('logs'), (request) => logs(named(request), request)),
    route('GET', at('top'), (request) =>
      top(engine, named(request), request)),
    route('GET', at('stats'), (request) =>
      stats(engine, named(request), request)),
    route('POST', at('pause'), (request) =>
      containers.pause(named(request))),
    route('POST', at('unpause'), (request) =>
      containers.unpause(named(request))),
    route('POST', at('rename'), (request) => {
      const name = request.query.get('name') ?? '';
      // dockerd checks the name before it looks the container up
      if (!name) {
        throw new BadRequest('Neither old nor new names may be empty');
      }
      containers.rename(named(request), name);
    }),
    route('POST', at('update'), async (request) => ({
      Warnings: await containers.update(named(request), request.body ?? {}),
    })),
    route('GET', at('changes'), (request) =>
      containerChanges(containers, named(request))),
    route('POST', '/containers/prune', (request) =>
      prune(containers, request)),
    ...copyRoutes(engine),
  ];
}

/** A terminal's new size; dockerd says so on the bus (`resize`). */
function resize(containers: Containers, container: Container,
  request: Req): void {
  const [height, width] = [num(request, 'h') ?? 0, num(request, 'w') ?? 0];
  if (!container.io) return;
  container.io.resize(height, width);
  containers.event(container, 'resize',
    { height: String(height), width: String(width) });
}

async function restart(containers: Containers, container: Container,
  timeout?: number): Promise<void> {
  await containers.stop(container, timeout).catch((err) => {
    if (!(err instanceof NotModified)) throw err;
  });
  await containers.start(container);
  containers.event(container, 'restart');
}

/**
 * POST /containers/{id}/wait: the headers go out at once, the body when
 * the condition is met. docker's CLI waits for those headers before it
 * sends the start (moby's postContainersWait flushes them likewise).
 */
async function wait(containers: Containers, container: Container,
  request: Req): Promise<void> {
  const res = request.res;
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const done = containers.wait(container,
    request.query.get('condition') ?? undefined, gone.signal);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const code = await done;
  res.end(JSON.stringify({ StatusCode: code, Error: null }) + '\n');
}

/** Stopped containers the filters select (until, label, label!). */
async function prune(containers: Containers, request: Req) {
  const filters = parseFilters(request.query.get('filters'),
    ['until', 'label', 'label!']);
  const before = filters.createdUntil();
  const gone = containers.list().filter((container) =>
    !container.isRunning && !container.rec.State.Restarting &&
    before(Date.parse(container.rec.Created)) &&
    filters.pruneLabels(container.rec.Config.Labels));
  for (const container of gone) await containers.remove(container);
  containers.opts.events.emit('container', 'prune', '', { reclaimed: '0' });
  return { ContainersDeleted: gone.map((container) => container.id),
    SpaceReclaimed: 0 };
}
