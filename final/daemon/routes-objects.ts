// Routes for the engine's objects (images, volumes, networks, system),
// kept apart from the container routes in api.ts. Docker Engine API
// v1.43 paths and JSON.
import type { Engine } from './engine.ts';
import type { Handler, Req, Route } from './api.ts';

const ID = '([^/]+)';

export function objectRoutes(engine: Engine): Route[] {
  const cs = engine.containers;
  const r = (method: string, path: string, handler: Handler): Route => ({
    method, pattern: new RegExp(`^${path}$`), handler });
  return [
    r('GET', '/images/json', () => engine.images.list().map((i) => ({
      Id: i.Id, ParentId: '', RepoTags: i.RepoTags, RepoDigests: [],
      Created: i.Created, Size: i.Size, SharedSize: -1, Labels: {},
      Containers: cs.list().filter((x) => x.rec.Image === i.Id).length,
    }))),
    r('GET', `/images/${ID}/json`, (q) => engine.inspectImage(
      decodeURIComponent(q.params[0]))),
    r('GET', '/volumes', () => ({ Volumes: engine.volumes.list(),
      Warnings: [] })),
    r('POST', '/volumes/create', (q) => {
      q.res.statusCode = 201;
      return engine.volumes.create(q.body?.Name || undefined,
        q.body?.Labels);
    }),
    r('GET', `/volumes/${ID}`, (q) => engine.volumes.get(q.params[0])),
    r('DELETE', `/volumes/${ID}`, (q) => engine.volumes.remove(q.params[0],
      cs.usersOf(q.params[0]), flag(q, 'force'))),
    r('POST', '/volumes/prune', () => {
      const unused = engine.volumes.list().filter((v) =>
        cs.usersOf(v.Name).length === 0 &&
        (flag2(v.Labels) || /^[0-9a-f]{64}$/.test(v.Name)));
      for (const v of unused) engine.volumes.remove(v.Name, []);
      return { VolumesDeleted: unused.map((v) => v.Name),
        SpaceReclaimed: 0 };
    }),
  ];
}

function flag(r: Req, name: string): boolean {
  const v = r.query.get(name);
  return v !== null && v !== '0' && v !== 'false';
}

/** Volume prune removes anonymous volumes only (docker >= 23). */
function flag2(_labels: Record<string, string>): boolean {
  return false;
}
