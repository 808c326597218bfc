// Routes for the engine's objects (images, networks, volumes, system),
// kept apart from the container routes in api.ts. Docker Engine API
// v1.43 paths and JSON.
import { DEFAULT_PATH } from '../../chapters/01-chroot/chroot.ts';
import { loadImages, saveImages, importRootfs } from
  '../../chapters/04-aufs-overlay/archive.ts';
import { commitRootfs, exportRootfs } from
  '../../chapters/04-aufs-overlay/overlay.ts';
import type { ContainerConfig } from
  '../../chapters/04-aufs-overlay/store.ts';
import { spawnSync } from 'node:child_process';
import type { Handler, Req, Route } from './api.ts';
import { applyChanges } from './changes.ts';
import type { Container, Containers } from './containers.ts';
import { copyRoutes } from './copy.ts';
import { buildRoute } from './build.ts';
import type { Engine } from './engine.ts';
import { familiar, normalizeRef, type Image } from './images.ts';
import { normalizeRef as checkRef } from
  '../../chapters/04-aufs-overlay/store.ts';
import { progressStream, pull, push } from './registry.ts';
import { all, refOf, sendMade, withUpload } from './transfer.ts';
import { BadRequest, Conflict, NotFound } from './errors.ts';

const ID = '([^/]+)';
/** Image names may hold slashes ("localhost:5000/a/b"). */
const NAME = '(.+)';

// #region object-routes (unused)
// #region image-routes
export function objectRoutes(engine: Engine): Route[] {
  const r = (method: string, path: string, handler: Handler): Route => ({
    method, pattern: new RegExp(`^${path}$`),
    handler: (q) => translate(() => handler(q)) });
  const img = imageCalls(engine);
  const net = engine.networks;
  const vol = engine.volumes;
  const cs = engine.containers;
  const p0 = (q: Req) => decodeURIComponent(q.params[0]);
  return [
    r('GET', '/images/json', () => img.list()),
    r('GET', `/images/${NAME}/json`, (q) => img.inspect(p0(q))),
    r('GET', `/images/${NAME}/history`, (q) => img.history(p0(q))),
    r('POST', `/images/${NAME}/tag`, (q) => img.tag(p0(q), q.query)),
    r('DELETE', `/images/${NAME}`, (q) => img.remove(p0(q),
      flag(q, 'force'))),
    r('POST', '/images/load', (q) => img.load(q)),
    r('GET', '/images/get', (q) => img.save(q, all(q.query, 'names'))),
    r('GET', `/images/${NAME}/get`, (q) => img.save(q, [p0(q)])),
    r('POST', '/images/create', (q) => q.query.get('fromImage')
      ? img.pull(q) : img.import(q)),
    r('POST', `/images/${NAME}/push`, (q) => img.push(q, p0(q))),
    r('POST', '/images/prune', (q) => img.prune(/"dangling":\s*\[\s*"(false|0)"/
      .test(q.query.get('filters') ?? ''))),
    r('POST', '/commit', (q) => img.commit(q)),
    r('POST', '/build', (q) => buildRoute(engine, q)),
// #endregion
    r('GET', `/containers/${ID}/export`, (q) => img.export(q,
      cs.get(p0(q)))),
    ...copyRoutes(engine),
    r('GET', '/networks', () => net.list()),
    r('GET', `/networks/${ID}`, (q) => net.inspect(p0(q))),
    r('POST', '/networks/create', (q) => {
      const cfg = q.body?.IPAM?.Config?.[0] ?? {};
      const n = net.create(q.body?.Name ?? '', cfg.Subnet, cfg.Gateway);
      q.res.statusCode = 201;
      return { Id: n.Id, Warning: '' };
    }),
    r('DELETE', `/networks/${ID}`, (q) => net.remove(p0(q))),
    r('POST', '/networks/prune', () => ({ NetworksDeleted: net.prune() })),
    r('GET', '/volumes', () => ({ Volumes: vol.list(), Warnings: [] })),
    r('POST', '/volumes/create', (q) => {
      q.res.statusCode = 201;
      return vol.create(q.body?.Name || undefined, q.body?.Labels);
    }),
    r('GET', `/volumes/${ID}`, (q) => vol.get(p0(q))),
    r('DELETE', `/volumes/${ID}`, (q) => vol.remove(p0(q),
      cs.usersOf(p0(q)), flag(q, 'force'))),
    r('POST', '/volumes/prune', (q) => {
      // docker >= 23 prunes anonymous volumes only, unless all=true
      const every = /"all=true"|\ball=true\b/.test(q.query.get('filters')
        ?? '');
      const unused = vol.list().filter((v) => cs.usersOf(v.Name)
        .length === 0 && (every || /^[0-9a-f]{64}$/.test(v.Name)));
      for (const v of unused) vol.remove(v.Name, []);
      return { VolumesDeleted: unused.map((v) => v.Name),
        SpaceReclaimed: 0 };
    }),
  ];
}
// #endregion

function flag(r: Req, name: string): boolean {
  const v = r.query.get(name);
  return v !== null && v !== '0' && v !== 'false';
}

/**
 * Chapter 04's errors carry no HTTP status: a missing image is a 404, a
 * conflict (rmi of an image in use) a 409, any other a bad request.
 */
async function translate(fn: () => unknown): Promise<unknown> {
  try {
    return await fn();
  } catch (err) {
    if ((err as { status?: number }).status) throw err;
    const m = (err as Error).message;
    if (/ not found$|^no such/i.test(m)) throw new NotFound(m);
    if (/^conflict/.test(m)) throw new Conflict(m);
    if (err instanceof Error && err.constructor !== Error &&
      !(err instanceof TypeError) && !(err instanceof RangeError)) {
      throw new BadRequest(m, { cause: err });
    }
    throw err;
  }
}

// #region image-calls (unused)
function imageCalls(engine: Engine) {
  const images = engine.images;
  const store = images.store;
  const cs = engine.containers;
  const find = (ref: string, missing = () => `No such image: ${ref}`)
    : Image => {
    let i: Image | undefined;
    try {
      i = images.find(ref);
    } catch { /* an invalid reference finds nothing */ }
    if (!i) throw new NotFound(missing());
    return i;
  };
  const users = (id: string) => cs.list().filter((x) => x.rec.Image === id);
  return {
    list: () => images.list().map((i) => ({
      Id: i.Id, ParentId: '', RepoTags: i.RepoTags, RepoDigests: [],
      Created: i.Created, Size: i.Size, VirtualSize: i.Size,
      SharedSize: -1, Labels: i.Config.Labels ?? {},
      Containers: users(i.Id).length,
    })),
    inspect: (ref: string) => inspectImage(store.layerDir.bind(store),
      find(ref)),
    history: (ref: string) => history(find(ref), (d) =>
      store.layerMeta(d).size),
    tag(ref: string, query: URLSearchParams) {
      const target = refOf(query);
      if (!target) throw new BadRequest('tag: a repository is required');
      store.tag(find(ref).Id, target);
      return undefined;
    },
    remove(ref: string, force: boolean) {
      find(ref);
      const r = store.remove(ref, { force });
      return [...r.untagged.map((t) => ({ Untagged: t })),
        ...r.deleted.map((d) => ({ Deleted: d }))];
    },
    async load(q: Req) {
      const loaded = await withUpload(store, q.raw, async (file) => {
        const named = archiveTags(file);
        return (await loadImages(store, file)).map((i) => ({ ...i,
          tags: named ? i.tags.filter((t) => named.has(t)) : i.tags }));
      });
      // docker answers with a stream of JSON messages, one a line
      q.res.writeHead(200, { 'Content-Type': 'application/json' });
      q.res.end(loaded.map((i) => JSON.stringify({ stream: i.tags.length
        ? i.tags.map((t) => `Loaded image: ${t}\n`).join('')
        : `Loaded image ID: ${i.id}\n` }) + '\n').join(''));
    },
    async save(q: Req, names: string[]) {
      if (names.length === 0) throw new BadRequest('save: no image named');
      for (const n of names) find(n);
      await sendMade(store, q.res, (file) => saveImages(store, names, file,
        q.query.get('format') === 'oci' ? 'oci' : 'docker'));
    },
    /** `docker pull`, and `docker run` of an image it does not have. */
    pull(q: Req) {
      const from = q.query.get('fromImage') ?? '';
      const tag = q.query.get('tag');
      // docker's CLI sends a digest as the tag
      const ref = !tag ? from : `${from}${/^sha256:/.test(tag) ? '@'
        : ':'}${tag}`;
      return progressStream(q.res, `pull ${familiar(normalizeRef(ref))}`,
        (emit) => pull(store, ref, emit));
    },
    /** `docker push`: one tag, or (no tag) every tag of the name. */
    push(q: Req, name: string) {
      const tag = q.query.get('tag');
      const refs = tag ? [`${name}:${tag}`] : Object.keys(store.tags())
        .filter((t) => t.slice(0, t.lastIndexOf(':')) === name);
      if (!refs.length) refs.push(name);
      for (const ref of refs) {
        find(ref, () => `An image does not exist locally with the tag: ${
          familiar(ref)}`);
      }
      return progressStream(q.res, `push ${normalizeRef(refs[0])}`,
        async (emit) => {
          for (const ref of refs) await push(store, ref, emit);
        });
    },
    async import(q: Req) {
      if (q.query.get('fromSrc') !== '-') {
        throw new BadRequest('import: only fromSrc=- (the request body) ' +
          'is supported');
      }
      const ref = refOf(q.query);
      const changes = applyChanges({ Env: [DEFAULT_PATH] },
        all(q.query, 'changes'));
      const i = await withUpload(store, q.raw, (file) => importRootfs(
        store, file, { ref, changes,
          message: q.query.get('message') ?? undefined }),
      // skiff's own parameter: the file's name, for the history
      q.query.get('origin') || '-');
      return { status: i.id };
    },
    /** Dangling images (no tag), or with `all` every unused one. */
    prune(all: boolean) {
      const deleted: object[] = [];
      for (const i of images.list()) {
        if ((i.RepoTags.length && !all) || users(i.Id).length) continue;
        const r = i.RepoTags.length
          ? [...i.RepoTags].reduce((acc, t) => {
            const x = store.remove(t);
            return { untagged: [...acc.untagged, ...x.untagged],
              deleted: [...acc.deleted, ...x.deleted] };
          }, { untagged: [] as string[], deleted: [] as string[] })
          : store.remove(i.Id);
        deleted.push(...r.untagged.map((t) => ({ Untagged: t })),
          ...r.deleted.map((d) => ({ Deleted: d })));
      }
      return { ImagesDeleted: deleted, SpaceReclaimed: 0 };
    },
    async commit(q: Req) {
      const c = cs.get(q.query.get('container') ?? '');
      const ref = refOf(q.query);
      if (ref) checkRef(ref); // before a layer is made, not after
      const base = containerConfig(c);
      const changes = applyChanges(base, all(q.query, 'changes'));
      const i = await frozen(cs, c, q.query.get('pause') !== '0' &&
        q.query.get('pause') !== 'false', () => commitRootfs(store, c.id,
        { ref, message: q.query.get('comment') || undefined,
          author: q.query.get('author') || undefined, changes }));
      q.res.statusCode = 201;
      return { Id: i.id };
    },
    export: (q: Req, c: Container) => sendMade(store, q.res,
      async (file) => {
        await frozen(cs, c, true, () => exportRootfs(store, c.id, file));
      }),
  };
}
// #endregion

// #region frozen (unused)
/**
 * Runs `fn` with a running container paused, as docker's commit does
 * by default. We walk its files as host root with lstat(2), then
 * readdir(2) or open(2) by path: a process inside could swap a checked
 * directory for a symlink to the host's / in between, and the host's
 * files would land in the archive. Frozen, nothing inside moves.
 */
async function frozen<T>(cs: Containers, c: Container, pause: boolean,
  fn: () => T | Promise<T>): Promise<T> {
  if (!pause || !c.isRunning || c.rec.State.Paused) return await fn();
  await cs.pause(c);
  try {
    return await fn();
  } finally {
    await cs.unpause(c).catch(() => {});
  }
}
// #endregion

/**
 * The names a docker-archive gives its images (manifest.json), so that
 * `load` reports those and not every tag the image has in the store.
 */
function archiveTags(file: string): Set<string> | undefined {
  const r = spawnSync('tar', ['-xOf', file, 'manifest.json'],
    { encoding: 'utf8', maxBuffer: 1 << 24 });
  try {
    const m = JSON.parse(r.stdout) as { RepoTags?: string[] }[];
    return new Set(m.flatMap((e) => (e.RepoTags ?? []).map(normalizeRef)));
  } catch {
    return undefined; // an OCI layout, or no tar at all
  }
}

/** What `commit` keeps of a container's config, as docker does. */
function containerConfig(c: Container): ContainerConfig {
  const cfg = c.rec.Config;
  const out: ContainerConfig = {
    Env: (cfg.Env ?? []).filter((e) => !/^HOSTNAME=/.test(e)),
    Cmd: cfg.Cmd ?? null,
  };
  if (cfg.Entrypoint) out.Entrypoint = cfg.Entrypoint;
  if (cfg.WorkingDir && cfg.WorkingDir !== '/') {
    out.WorkingDir = cfg.WorkingDir;
  }
  if (cfg.User) out.User = cfg.User;
  if (cfg.Labels && Object.keys(cfg.Labels).length) out.Labels = cfg.Labels;
  if (cfg.ExposedPorts) out.ExposedPorts = cfg.ExposedPorts;
  return out;
}

function inspectImage(layerDir: (d: string) => string, i: Image) {
  const dirs = [...i.Layers].reverse().map((d) => `${layerDir(d)}/diff`);
  return {
    Id: i.Id, RepoTags: i.RepoTags, RepoDigests: [], Parent: '',
    Comment: i.History.at(-1)?.comment ?? '',
    Created: new Date(i.Created * 1000).toISOString(), Container: '',
    DockerVersion: '', Author: i.Author ?? '', Config: i.Config,
    Architecture: i.Architecture, Os: i.Os, Size: i.Size,
    VirtualSize: i.Size,
    GraphDriver: { Name: 'overlay2', Data: { LowerDir: dirs.join(':') } },
    RootFS: { Type: 'layers', Layers: i.Layers },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

// #region history (unused)
/**
 * GET /images/{name}/history: the config's history, newest first; each
 * entry that made a layer gets that layer's size, in order.
 */
function history(i: Image, size: (diffId: string) => number) {
  let layer = 0;
  const rows = i.History.map((h) => {
    const d = h.empty_layer ? undefined : i.Layers[layer++];
    const bytes = d ? size(d) : 0;
    return { Id: '<missing>', Created: Math.floor(Date.parse(
      h.created ?? '') / 1000) || 0, CreatedBy: h.created_by ?? '',
    Tags: null as string[] | null, Size: bytes, Comment: h.comment ?? '' };
  }).reverse();
  if (rows.length) {
    rows[0].Id = i.Id;
    rows[0].Tags = i.RepoTags;
  }
  return rows;
}
// #endregion
