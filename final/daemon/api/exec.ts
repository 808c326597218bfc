// The exec routes: /containers/{id}/exec and /exec/{id}/... (the start
// that takes the connection over is in upgrade.ts).
import type { Engine } from '../engine.ts';
import type { Execs } from '../execs.ts';
import { ID, num, param, route, type Route } from './route.ts';

export function execRoutes(engine: Engine, execs: Execs): Route[] {
  return [
    route('POST', `/containers/${ID}/exec`, (request) => {
      const container = engine.containers.get(param(request));
      request.res.statusCode = 201;
      return { Id: execs.create(container, request.body).id };
    }),
    route('POST', `/exec/${ID}/start`, async (request) => {
      // Detached (or a client that does not take the connection over):
      // the process runs, its output goes nowhere.
      await execs.start(execs.get(request.params[0]), null);
    }),
    route('POST', `/exec/${ID}/resize`, (request) =>
      execs.get(request.params[0]).resize(num(request, 'h') ?? 0,
        num(request, 'w') ?? 0)),
    route('GET', `/exec/${ID}/json`, (request) =>
      execs.get(request.params[0]).inspect()),
  ];
}
