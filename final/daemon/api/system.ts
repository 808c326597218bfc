// The system routes: ping, version, info, disk usage, the build cache.
import { pruneBuildCache } from '../build-cache.ts';
import { diskUsage } from '../df.ts';
import type { Engine } from '../engine.ts';
import { route, type Route } from './route.ts';

export function systemRoutes(engine: Engine): Route[] {
  return [
    route('GET', '/_ping', () => 'OK'),
    route('HEAD', '/_ping', () => 'OK'),
    route('GET', '/version', () => engine.version()),
    route('GET', '/info', () => engine.info()),
    route('GET', '/system/df', () => diskUsage(engine)),
    route('POST', '/build/prune', (request) =>
      pruneBuildCache(engine, request.query)),
  ];
}
