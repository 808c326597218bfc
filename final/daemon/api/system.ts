// The system routes: ping, version, info.
import type { Engine } from '../engine.ts';
import { route, type Route } from './route.ts';

export function systemRoutes(engine: Engine): Route[] {
  return [
    route('GET', '/_ping', () => 'OK'),
    route('HEAD', '/_ping', () => 'OK'),
    route('GET', '/version', () => engine.version()),
    route('GET', '/info', () => engine.info()),
  ];
}
