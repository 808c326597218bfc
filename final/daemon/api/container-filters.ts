// GET /containers/json?filters=...: which containers `docker ps
// --filter` lists, with moby's semantics (daemon/list.go): the keys
// below, AND across keys, OR within one (labels: all must match).
import type { Container } from '../container/container.ts';
import type { Engine } from '../engine.ts';
import { BadRequest } from '../errors.ts';
import { type Filters, parseFilters } from '../filters.ts';
import type { Image } from '../images.ts';
import { summary } from './inspect.ts';
import { flag, type Req } from './route.ts';

export const PS_FILTERS = ['id', 'name', 'label', 'status', 'exited',
  'ancestor', 'before', 'since', 'network', 'volume', 'publish', 'expose',
  'health', 'is-task'] as const;

const STATES = ['created', 'restarting', 'running', 'removing', 'paused',
  'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

type Test = (container: Container) => boolean;

// #region ps-filters (unused)
/** The containers `GET /containers/json` lists, newest first. */
export function listContainers(engine: Engine, request: Req)
  : Container[] {
  const query = request.query;
  const filters = parseFilters(query.get('filters'), PS_FILTERS);
  const tests = containerTests(engine, filters);
  // A status filter looks at every container (moby sets All for it),
  // as does a limit (`ps -n 3`: the last three, in any state).
  const limit = Number(query.get('limit') || 0);
  const all = filters.has('status') || flag(request, 'all') || limit > 0;
  let rows = engine.containers.list();
  rows = afterBefore(engine, filters, rows)
    .filter((container) => all || container.isRunning)
    .filter((container) => tests.every((test) => test(container)));
  return limit > 0 ? rows.slice(0, limit) : rows;
}

function containerTests(engine: Engine, f: Filters): Test[] {
  const exited = f.get('exited').map((code) => {
    if (!/^-?\d+$/.test(code)) {
      throw new BadRequest(`invalid filter 'exited=${code}'`);
    }
    return Number(code);
  });
  oneOf(f, 'status', STATES);
  oneOf(f, 'health', HEALTH);
  const task = f.bool('is-task');
  const images = ancestors(engine, f.get('ancestor'));
  const publish = portTest(f, 'publish');
  const expose = portTest(f, 'expose');
  return [
    (c) => f.match('id', c.id),
    (c) => f.match('name', c.rec.Name),
    (c) => f.labels('label', c.rec.Config.Labels),
    (c) => f.exact('status', c.rec.State.Status),
    (c) => !exited.length || (!c.isRunning && !c.rec.State.Restarting &&
      c.rec.State.Status !== 'created' && exited.includes(
      c.rec.State.ExitCode)),
    (c) => !f.has('ancestor') || images.has(c.rec.Image),
    (c) => !f.has('network') || networksOf(engine, c).some((net) =>
      f.get('network').some((want) => want === net.name ||
        (want.length >= 3 && net.id.startsWith(want)))),
    (c) => !f.has('volume') || c.rec.Mounts.some((mount) =>
      f.get('volume').some((want) => want === mount.Name ||
        want === mount.Destination || want === mount.Source)),
    (c) => (!publish && !expose) || ports(c, engine).some(([priv, pub]) =>
      !!publish?.(pub) || !!expose?.(priv)),
    (c) => f.exact('health', healthOf(c)),
    () => task !== true,
  ];
}
// #endregion

/** docker's 400 for a value outside the key's list. */
function oneOf(f: Filters, key: string, known: string[]): void {
  for (const value of f.get(key)) {
    if (!known.includes(value)) {
      throw new BadRequest(`invalid filter '${key}=${value}'`);
    }
  }
}

/**
 * `before`/`since`: containers created before, or after, the one named
 * (moby walks the newest-first list to it).
 */
function afterBefore(engine: Engine, f: Filters, rows: Container[])
  : Container[] {
  const at = (key: string) => f.get(key).map((ref) => {
    try {
      return engine.containers.get(ref).rec.Created;
    } catch (err) {
      throw new BadRequest(`invalid filter '${key}=${ref}': ` +
        (err as Error).message, { cause: err });
    }
  });
  const before = at('before');
  const since = at('since');
  return rows.filter((c) =>
    before.every((time) => c.rec.Created < time) &&
    since.every((time) => c.rec.Created > time));
}

/**
 * `ancestor`: the image named (name, tag or id) and the images built
 * on it, whose layers start with all of its own.
 */
function ancestors(engine: Engine, refs: string[]): Set<string> {
  const found = refs.map((ref) => engine.images.find(ref))
    .filter((image): image is Image => !!image);
  const all = found.length ? engine.images.list() : [];
  const ids = new Set<string>();
  for (const base of found) {
    for (const image of all) {
      if (base.Layers.every((layer, i) => image.Layers[i] === layer)) {
        ids.add(image.Id);
      }
    }
    ids.add(base.Id);
  }
  return ids;
}

function networksOf(engine: Engine, container: Container)
  : { name: string; id: string }[] {
  const mode = container.rec.HostConfig.NetworkMode || 'default';
  const name = mode === 'default' ? 'bridge' : mode;
  const listed = engine.networks.list();
  const joined = listed.filter((net) =>
    Object.hasOwn(net.Containers, container.id) || net.Name === name);
  return joined.map((net) => ({ name: net.Name, id: net.Id }));
}

/** [private "80/tcp", public "8080/tcp"] pairs, exposed ones too. */
function ports(container: Container, engine: Engine)
  : [string, string][] {
  const rows: [string, string][] = summary(container, engine.net).Ports
    .map((row) => [`${row.PrivatePort}/${row.Type}`, row.PublicPort
      ? `${row.PublicPort}/${row.Type}` : '']);
  for (const key of Object.keys(container.rec.Config.ExposedPorts ?? {})) {
    rows.push([key.includes('/') ? key : `${key}/tcp`, '']);
  }
  return rows;
}

/** `publish=80`, `8000-8080/udp`: a test of "port/proto" strings. */
function portTest(f: Filters, key: string)
  : ((port: string) => boolean) | undefined {
  if (!f.has(key)) return undefined;
  const ranges = f.get(key).map((value) => {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(value);
    if (!m) {
      throw new BadRequest(`invalid filter '${key}=${value}'`);
    }
    return { start: Number(m[1]), end: Number(m[2] ?? m[1]),
      proto: m[3] ?? 'tcp' };
  });
  return (port) => {
    const [num, proto] = port.split('/');
    return ranges.some((r) => r.proto === proto &&
      Number(num) >= r.start && Number(num) <= r.end);
  };
}

/**
 * State.Health.Status, "none" without a healthcheck (the health
 * helper's record, read structurally so either may come first).
 */
function healthOf(container: Container): string {
  const state = container.rec.State as { Health?: { Status?: string } };
  return state.Health?.Status || 'none';
}
