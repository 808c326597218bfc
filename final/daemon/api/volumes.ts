// The volume routes: /volumes/... (volumes.ts).
import type { Engine } from '../engine.ts';
import { translated } from './error-body.ts';
import { flag, ID, param, route, type Route } from './route.ts';

export function volumeRoutes(engine: Engine): Route[] {
  const volumes = engine.volumes;
  const containers = engine.containers;
  return [
    route('GET', '/volumes', () =>
      ({ Volumes: volumes.list(), Warnings: [] })),
    route('POST', '/volumes/create', (request) => {
      request.res.statusCode = 201;
      return volumes.create(request.body?.Name || undefined,
        request.body?.Labels);
    }),
    route('GET', `/volumes/${ID}`, (request) =>
      volumes.get(param(request))),
    route('DELETE', `/volumes/${ID}`, (request) => volumes.remove(
      param(request), containers.usersOf(param(request)),
      flag(request, 'force'))),
    route('POST', '/volumes/prune', (request) => {
      // docker >= 23 prunes anonymous volumes only, unless all=true
      const every = /"all=true"|\ball=true\b/.test(
        request.query.get('filters') ?? '');
      const unused = volumes.list().filter((volume) =>
        containers.usersOf(volume.Name).length === 0 &&
        (every || /^[0-9a-f]{64}$/.test(volume.Name)));
      for (const volume of unused) volumes.remove(volume.Name, []);
      engine.events.emit('volume', 'prune', '', { reclaimed: '0' });
      return { VolumesDeleted: unused.map((volume) => volume.Name),
        SpaceReclaimed: 0 };
    }),
  ].map(translated);
}
