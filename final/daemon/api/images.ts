// The image routes: /images/..., /commit, and a container's export
// (chapter 04's store behind them). Docker Engine API v1.43 paths and
// JSON.
import { spawnSync } from 'node:child_process';
import { DEFAULT_PATH } from '../../../chapters/01-chroot/chroot.ts';
import { loadImages, saveImages, importRootfs } from
  '../../../chapters/04-aufs-overlay/archive.ts';
import { commitRootfs, exportRootfs } from
  '../../../chapters/04-aufs-overlay/overlay.ts';
import {
  type ContainerConfig, normalizeRef as checkRef, type RemoveResult,
} from '../../../chapters/04-aufs-overlay/store.ts';
import { buildRoute } from '../build.ts';
import { applyChanges } from '../changes.ts';
import type { Container } from '../container/container.ts';
import type { Containers } from '../container/registry.ts';
import type { Engine } from '../engine.ts';
import { familiar, normalizeRef, type Image } from '../images.ts';
import { progressStream, pull, push } from '../registry.ts';
import { all, refOf, sendMade, withUpload } from '../transfer.ts';
import { BadRequest, NotFound } from '../errors.ts';
import { translated } from './error-body.ts';
import { filterImages, pruneImages } from './image-filters.ts';
import {
  flag, ID, NAME, param, route, type Req, type Route,
} from './route.ts';

// #region image-routes
export function imageRoutes(engine: Engine): Route[] {
  const calls = imageCalls(engine);
  const containers = engine.containers;
  return [
    route('GET', '/images/json', (request) =>
      calls.list(request.query.get('filters'))),
    route('GET', `/images/${NAME}/json`, (request) =>
      calls.inspect(param(request))),
    route('GET', `/images/${NAME}/history`, (request) =>
      calls.history(param(request))),
    route('POST', `/images/${NAME}/tag`, (request) =>
      calls.tag(param(request), request)),
    route('DELETE', `/images/${NAME}`, (request) =>
      calls.remove(param(request), flag(request, 'force'))),
    route('POST', '/images/load', (request) => calls.load(request)),
    route('GET', '/images/get', (request) =>
      calls.save(request, all(request.query, 'names'))),
    route('GET', `/images/${NAME}/get`, (request) =>
      calls.save(request, [param(request)])),
    route('POST', '/images/create', (request) =>
      request.query.get('fromImage') ? calls.pull(request)
        : calls.import(request)),
    route('POST', `/images/${NAME}/push`, (request) =>
      calls.push(request, param(request))),
    route('POST', '/images/prune', (request) =>
      calls.prune(request.query.get('filters'))),
    route('POST', '/commit', (request) => calls.commit(request)),
    route('POST', '/build', (request) => buildRoute(engine, request)),
    route('GET', `/containers/${ID}/export`, (request) =>
      calls.export(request, containers.get(param(request)))),
  ].map(translated);
}
// #endregion

// #region image-calls (unused)
function imageCalls(engine: Engine) {
  const images = engine.images;
  const store = images.store;
  const containers = engine.containers;
  const find = (ref: string, missing = () => `No such image: ${ref}`)
    : Image => {
    let image: Image | undefined;
    try {
      image = images.find(ref);
    } catch { /* an invalid reference finds nothing */ }
    if (!image) throw new NotFound(missing());
    return image;
  };
  const users = (id: string) => containers.list().filter((container) =>
    container.rec.Image === id);
  const event = imageEvents(engine);
  return {
    list: (filters: string | null) =>
      filterImages(engine, filters).map((image) => ({
        Id: image.Id, ParentId: '', RepoTags: image.RepoTags,
        RepoDigests: [], Created: image.Created, Size: image.Size,
        VirtualSize: image.Size, SharedSize: -1,
        Labels: image.Config.Labels ?? {},
        Containers: users(image.Id).length,
      })),
    inspect: (ref: string) => inspectImage(store.layerDir.bind(store),
      find(ref)),
    history: (ref: string) => history(find(ref), (diffId) =>
      store.layerMeta(diffId).size),
    tag(ref: string, request: Req) {
      const target = refOf(request.query);
      if (!target) throw new BadRequest('tag: a repository is required');
      const id = find(ref).Id;
      store.tag(id, target);
      event('tag', id, familiar(normalizeRef(target)));
      // docker answers 201 Created (docker-py's tag() checks for it)
      request.res.statusCode = 201;
      return undefined;
    },
    remove(ref: string, force: boolean) {
      const id = find(ref).Id;
      const removed = store.remove(ref, { force });
      event.removed(id, removed);
      return [...removed.untagged.map((tag) => ({ Untagged: tag })),
        ...removed.deleted.map((id) => ({ Deleted: id }))];
    },
    async load(request: Req) {
      const loaded = await withUpload(store, request.raw, async (file) => {
        const named = archiveTags(file);
        return (await loadImages(store, file)).map((image) => ({ ...image,
          tags: named ? image.tags.filter((tag) => named.has(tag))
            : image.tags }));
      });
      // docker answers with a stream of JSON messages, one a line
      request.res.writeHead(200, { 'Content-Type': 'application/json' });
      request.res.end(loaded.map((image) => JSON.stringify({
        stream: image.tags.length
          ? image.tags.map((tag) => `Loaded image: ${tag}\n`).join('')
          : `Loaded image ID: ${image.id}\n` }) + '\n').join(''));
      for (const image of loaded) event('load', image.id);
    },
    async save(request: Req, names: string[]) {
      if (names.length === 0) throw new BadRequest('save: no image named');
      const ids = names.map((name) => find(name).Id);
      const format = request.query.get('format') === 'oci' ? 'oci'
        : 'docker';
      await sendMade(store, request.res, (file) =>
        saveImages(store, names, file, format));
      for (const id of new Set(ids)) event('save', id);
    },
    /** `docker pull`, and `docker run` of an image it does not have. */
    pull(request: Req) {
      const from = request.query.get('fromImage') ?? '';
      const tag = request.query.get('tag');
      // docker's CLI sends a digest as the tag
      const ref = !tag ? from : `${from}${/^sha256:/.test(tag) ? '@'
        : ':'}${tag}`;
      const name = familiar(normalizeRef(ref));
      return progressStream(request.res, `pull ${name}`, async (emit) => {
        await pull(store, ref, emit);
        event('pull', name);
      });
    },
    /** `docker push`: one tag, or (no tag) every tag of the name. */
    push(request: Req, name: string) {
      const tag = request.query.get('tag');
      const refs = tag ? [`${name}:${tag}`] : Object.keys(store.tags())
        .filter((known) => known.slice(0, known.lastIndexOf(':')) === name);
      if (!refs.length) refs.push(name);
      for (const ref of refs) {
        find(ref, () => `An image does not exist locally with the tag: ${
          familiar(ref)}`);
      }
      return progressStream(request.res, `push ${normalizeRef(refs[0])}`,
        async (emit) => {
          for (const ref of refs) {
            await push(store, ref, emit);
            event('push', familiar(normalizeRef(ref)));
          }
        });
    },
    async import(request: Req) {
      if (request.query.get('fromSrc') !== '-') {
        throw new BadRequest('import: only fromSrc=- (the request body) ' +
          'is supported');
      }
      const ref = refOf(request.query);
      const changes = applyChanges({ Env: [DEFAULT_PATH] },
        all(request.query, 'changes'));
      const image = await withUpload(store, request.raw, (file) =>
        importRootfs(store, file, { ref, changes,
          message: request.query.get('message') ?? undefined }),
      // skiff's own parameter: the file's name, for the history
      request.query.get('origin') || '-');
      if (ref) event('tag', image.id, familiar(normalizeRef(ref)));
      event('import', image.id);
      return { status: image.id };
    },
    /** What the filters select (image-filters.ts), tags and all. */
    prune(filters: string | null) {
      const deleted: object[] = [];
      for (const image of pruneImages(engine, filters)) {
        const removed = image.RepoTags.length
          ? [...image.RepoTags].reduce((sum, tag) => {
            const one = store.remove(tag);
            return { untagged: [...sum.untagged, ...one.untagged],
              deleted: [...sum.deleted, ...one.deleted] };
          }, { untagged: [] as string[], deleted: [] as string[] })
          : store.remove(image.Id);
        event.removed(image.Id, removed);
        deleted.push(...removed.untagged.map((tag) => ({ Untagged: tag })),
          ...removed.deleted.map((id) => ({ Deleted: id })));
      }
      engine.events.emit('image', 'prune', '', { reclaimed: '0' });
      return { ImagesDeleted: deleted, SpaceReclaimed: 0 };
    },
    async commit(request: Req) {
      const query = request.query;
      const container = containers.get(query.get('container') ?? '');
      const ref = refOf(query);
      if (ref) checkRef(ref); // before a layer is made, not after
      const base = containerConfig(container);
      const changes = applyChanges(base, all(query, 'changes'));
      const pause = query.get('pause') !== '0' &&
        query.get('pause') !== 'false';
      const image = await frozen(containers, container, pause, () =>
        commitRootfs(store, container.id, { ref, changes,
          message: query.get('comment') || undefined,
          author: query.get('author') || undefined }));
      if (ref) event('tag', image.id, familiar(normalizeRef(ref)));
      containers.event(container, 'commit', { comment: query.get('comment')
        ?? '', imageID: image.id, imageRef: ref ?? '' });
      request.res.statusCode = 201;
      return { Id: image.id };
    },
    export: (request: Req, container: Container) => sendMade(store,
      request.res, async (file) => {
        await frozen(containers, container, true, () =>
          exportRootfs(store, container.id, file));
        containers.event(container, 'export');
      }),
  };
}
// #endregion

/**
 * Images on the bus, as dockerd's LogImageEvent: the actor is the
 * image's id (a pull's and a push's: the reference), its attributes
 * the image's labels and `name`. An untag and a delete name the id.
 */
export function imageEvents(engine: Engine) {
  const event = (action: string, id: string, name = id) => {
    let labels: Record<string, string> = {};
    try {
      labels = engine.images.find(id)?.Config.Labels ?? {};
    } catch { /* a reference the store cannot read: no labels */ }
    engine.events.emit('image', action, id, { ...labels, name });
  };
  return Object.assign(event, {
    /** What store.remove did to image `id`: untags, then its delete. */
    removed(id: string, result: RemoveResult) {
      for (const _tag of result.untagged) event('untag', id);
      if (result.deleted.includes(id)) event('delete', id);
    },
  });
}

// #region frozen (unused)
/**
 * Runs `fn` with a running container paused, as docker's commit does
 * by default. We walk its files as host root with lstat(2), then
 * readdir(2) or open(2) by path: a process inside could swap a checked
 * directory for a symlink to the host's / in between, and the host's
 * files would land in the archive. Frozen, nothing inside moves.
 */
async function frozen<T>(containers: Containers, container: Container,
  pause: boolean, fn: () => T | Promise<T>): Promise<T> {
  if (!pause || !container.isRunning || container.rec.State.Paused) {
    return await fn();
  }
  await containers.pause(container);
  try {
    return await fn();
  } finally {
    await containers.unpause(container).catch(() => {});
  }
}
// #endregion

/**
 * The names a docker-archive gives its images (manifest.json), so that
 * `load` reports those and not every tag the image has in the store.
 */
function archiveTags(file: string): Set<string> | undefined {
  const tar = spawnSync('tar', ['-xOf', file, 'manifest.json'],
    { encoding: 'utf8', maxBuffer: 1 << 24 });
  try {
    const manifest = JSON.parse(tar.stdout) as { RepoTags?: string[] }[];
    return new Set(manifest.flatMap((entry) =>
      (entry.RepoTags ?? []).map(normalizeRef)));
  } catch {
    return undefined; // an OCI layout, or no tar at all
  }
}

/** What `commit` keeps of a container's config, as docker does. */
function containerConfig(container: Container): ContainerConfig {
  const cfg = container.rec.Config;
  const out: ContainerConfig = {
    Env: (cfg.Env ?? []).filter((env) => !/^HOSTNAME=/.test(env)),
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

/**
 * dockerd's ContainerConfig: the config of the container a classic
 * build committed, zero-valued for images no `docker commit` made (as
 * skiff's). docker-compose reads its Volumes when it recreates a
 * container (a KeyError without the key).
 */
const NO_BUILD_CONTAINER = {
  Hostname: '', Domainname: '', User: '', AttachStdin: false,
  AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false,
  StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
  WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
};

function inspectImage(layerDir: (diffId: string) => string, image: Image) {
  const dirs = [...image.Layers].reverse().map((diffId) =>
    `${layerDir(diffId)}/diff`);
  return {
    Id: image.Id, RepoTags: image.RepoTags, RepoDigests: [], Parent: '',
    Comment: image.History.at(-1)?.comment ?? '',
    Created: new Date(image.Created * 1000).toISOString(), Container: '',
    DockerVersion: '', Author: image.Author ?? '', Config: image.Config,
    ContainerConfig: NO_BUILD_CONTAINER,
    Architecture: image.Architecture, Os: image.Os, Size: image.Size,
    VirtualSize: image.Size,
    GraphDriver: { Name: 'overlay2', Data: { LowerDir: dirs.join(':') } },
    RootFS: { Type: 'layers', Layers: image.Layers },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

// #region history (unused)
/**
 * GET /images/{name}/history: the config's history, newest first; each
 * entry that made a layer gets that layer's size, in order.
 */
function history(image: Image, size: (diffId: string) => number) {
  let layer = 0;
  const rows = image.History.map((entry) => {
    const diffId = entry.empty_layer ? undefined : image.Layers[layer++];
    const bytes = diffId ? size(diffId) : 0;
    return { Id: '<missing>', Created: Math.floor(Date.parse(
      entry.created ?? '') / 1000) || 0, CreatedBy: entry.created_by ?? '',
    Tags: null as string[] | null, Size: bytes,
    Comment: entry.comment ?? '' };
  }).reverse();
  if (rows.length) {
    rows[0].Id = image.Id;
    rows[0].Tags = image.RepoTags;
  }
  return rows;
}
// #endregion
