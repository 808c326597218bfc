// The table of every route, grouped by the object they act on.
import type { Engine } from '../engine.ts';
import type { Execs } from '../execs.ts';
import { containerRoutes } from './containers.ts';
import { eventRoutes } from './events.ts';
import { execRoutes } from './exec.ts';
import { imageRoutes } from './images.ts';
import { networkRoutes } from './networks.ts';
import type { Route } from './route.ts';
import { systemRoutes } from './system.ts';
import { volumeRoutes } from './volumes.ts';

export function routes(engine: Engine, execs: Execs): Route[] {
  return [
    ...systemRoutes(engine),
    ...eventRoutes(engine),
    ...containerRoutes(engine, execs),
    ...execRoutes(engine, execs),
    ...imageRoutes(engine),
    ...networkRoutes(engine),
    ...volumeRoutes(engine),
  ];
}
