// The volume routes: /volumes/... (volumes.ts).
import type { Engine } from '../engine.ts';
import { parseFilters } from '../filters.ts';
import type { Volume } from '../volumes.ts';
import { translated } from './error-body.ts';
import {
  apiVersion, flag, ID, param, type Req, route, type Route, versionBefore,
} from './route.ts';

export function volumeRoutes(engine: Engine): Route[] {
  const volumes = engine.volumes;
  const containers = engine.containers;
  const unused = (volume: Volume) =>
    containers.usersOf(volume.Name).length === 0;
  return [
    route('GET', '/volumes', (request) => ({
      Volumes: filterVolumes(volumes.list(), unused,
        request.query.get('filters')), Warnings: [] })),
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
      const gone = prunable(volumes.list(), request).filter(unused);
      for (const volume of gone) volumes.remove(volume.Name, []);
      engine.events.emit('volume', 'prune', '', { reclaimed: '0' });
      return { VolumesDeleted: gone.map((volume) => volume.Name),
        SpaceReclaimed: 0 };
    }),
  ].map(translated);
}

// #region volume-filters (unused)
/** `docker volume ls --filter`: name, label, dangling, driver. */
function filterVolumes(list: Volume[], unused: (v: Volume) => boolean,
  text: string | null): Volume[] {
  const f = parseFilters(text, ['name', 'label', 'dangling', 'driver']);
  const dangling = f.bool('dangling');
  return list.filter((volume) => f.match('name', volume.Name) &&
    f.labels('label', volume.Labels) && f.exact('driver', volume.Driver) &&
    (dangling === undefined || dangling === unused(volume)));
}

/**
 * What `docker volume prune` may remove, before the in-use check. Since
 * API 1.42 (docker 23) only anonymous volumes, unless the filter
 * `all=true`; a client speaking 1.41 (dockerd 20.10's) gets every
 * unused one, and no `all` key.
 */
function prunable(list: Volume[], request: Req): Volume[] {
  const old = versionBefore(apiVersion(request), '1.42');
  const f = parseFilters(request.query.get('filters'),
    old ? ['label', 'label!'] : ['label', 'label!', 'all']);
  const every = old || f.bool('all') === true;
  return list.filter((volume) => (every || anonymous(volume)) &&
    f.pruneLabels(volume.Labels));
}
// #endregion

/** docker 23+ marks them with a label; skiff names them by 64 hex. */
function anonymous(volume: Volume): boolean {
  return Object.hasOwn(volume.Labels ?? {}, 'com.docker.volume.anonymous')
    || /^[0-9a-f]{64}$/.test(volume.Name);
}
