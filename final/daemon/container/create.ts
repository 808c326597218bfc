// `docker create`: a record and a directory, the container's own layer
// over its image's (chapter 04's createRootfs; the start mounts it), its
// volumes. Nothing runs yet; the spec is built at each start.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  createRootfs, removeRootfs,
} from '../../../chapters/04-aufs-overlay/overlay.ts';
import type {
  CreateBody, HostConfig, LogConfig,
} from '../../api-types.ts';
import { containerMounts, type MountSpec } from '../../binds.ts';
import { normalizeRef, type Image } from '../images.ts';
import { randomName } from '../names.ts';
import { buildSpec, mergeConfig } from '../ocispec.ts';
import { writeError } from '../state.ts';
import { cgroupParent } from '../runtime.ts';
import { checkUsernsMode } from '../userns.ts';
import { BadRequest, Conflict, NotFound } from '../errors.ts';
import { checkHealthcheck } from '../health.ts';
import {
  Container, freshState, type ContainerRecord, type MountPoint,
} from './container.ts';
import { clientSignal } from './kill.ts';
import { endpointsAtCreate, extraHosts } from './connect.ts';
import { checkPublishMode } from './ports.ts';
import type { Containers } from './registry.ts';

// #region create-dir
export function createContainer(containers: Containers, body: CreateBody,
  name?: string): Container {
  const image = containers.opts.images.find(body.Image);
  if (!image) {
    throw new NotFound(`No such image: ${normalizeRef(body.Image)}`);
  }
  checkPublishMode(body.HostConfig ?? {});
  extraHosts(body.HostConfig?.ExtraHosts ?? [], '');
  if (body.StopSignal) clientSignal(body.StopSignal);
  checkHealthcheck(body.Healthcheck);
  checkUsernsMode(body.HostConfig?.UsernsMode);
  checkLogConfig(body.HostConfig?.LogConfig);
  name = checkName(containers, name);
  const id = randomBytes(32).toString('hex');
  const dir = join(containers.dir, id);
  makeDir(dir);
  const store = containers.opts.images.store;
  let rec: ContainerRecord | undefined;
  try {
    rec = newRecord(containers, dir, id, name, body, image);
    // A record that gives no spec (a bad profile) is refused now (400),
    // not at its start.
    buildSpec(rec, { cgroupParent: cgroupParent(),
      remap: containers.opts.remap });
    createRootfs(store, id, image.Id);
    const container = new Container(dir, rec);
    container.save();
    containers.byId.set(id, container);
    containers.event(container, 'create');
    return container;
  } catch (err) {
    removeRootfs(store, id);
    rmSync(dir, { recursive: true, force: true });
    if (rec) removeNewVolumes(containers, rec);
    throw err;
  }
}
// #endregion

/** The container's directory; a full or read-only state dir, named. */
function makeDir(dir: string): void {
  try {
    // Not recursive: node's recursive mkdir reports a read-only parent
    // as ENOENT, and <root>/containers exists since the daemon started.
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    throw writeError(dir, err);
  }
}

// #region create-record
/** state.json's first version: the merged config, the volumes. */
function newRecord(containers: Containers, dir: string, id: string,
  name: string, body: CreateBody, image: Image): ContainerRecord {
  const hostConfig = body.HostConfig ?? {};
  const config = mergeConfig(id, body, image.Config);
  const command = [...config.Entrypoint ?? [], ...config.Cmd ?? []];
  return {
    Id: id, Name: `/${name}`, Created: new Date().toISOString(),
    Path: command[0], Args: command.slice(1),
    State: freshState(), Image: image.Id,
    LogPath: join(dir, `${id}-json.log`), RestartCount: 0,
    Driver: 'skiff', Platform: 'linux',
    Mounts: mountPoints(containers, hostConfig, config), Config: config,
    HostConfig: withSecurityDefaults(hostConfig),
    Endpoints: endpointsAtCreate(containers, body),
  };
}
// #endregion

// #region mount-points (unused)
/**
 * The container's binds and volumes as docker inspect shows them,
 * volumes made now (a bind's source must exist: checked first, so a
 * refused create makes none). --tmpfs is not listed, as in docker.
 */
function mountPoints(containers: Containers, hostConfig: HostConfig,
  config: CreateBody): MountPoint[] {
  let specs: MountSpec[];
  try {
    specs = containerMounts(hostConfig, config.Volumes);
  } catch (err) {
    throw new BadRequest((err as Error).message, { cause: err });
  }
  const volumes = containers.opts.volumes;
  for (const m of specs) if (m.type === 'bind') volumes.source(m);
  for (const m of specs) checkDriverOpts(m);
  return specs.filter((m) => !(m.type === 'tmpfs' &&
    hostConfig.Tmpfs?.[m.destination] !== undefined)).map((m) => {
    if (m.type === 'tmpfs') {
      return { Type: 'tmpfs', Source: '', Destination: m.destination,
        Mode: '', RW: !m.readOnly, Propagation: '' };
    }
    const { source, volume } = volumes.source(m);
    return { Type: m.type, Name: volume, Source: source,
      Destination: m.destination, Driver: volume ? 'local' : undefined,
      Mode: m.mode, RW: !m.readOnly, Propagation: m.propagation };
  });
}
// #endregion

/**
 * The local driver's options (volume-opt) would mount a filesystem of
 * their own on the volume; skiff's volumes are plain directories, so
 * they are refused rather than ignored.
 */
function checkDriverOpts(m: MountSpec): void {
  const opts = Object.keys(m.driverOpts ?? {});
  if (opts.length === 0) return;
  throw new BadRequest(`create ${m.source || 'volume'}: volume options ` +
    `are not supported by skiff's local driver: "${opts[0]}"`);
}

/** A refused create leaves no anonymous volume of its own behind. */
function removeNewVolumes(containers: Containers, rec: ContainerRecord)
  : void {
  const named = new Set((rec.HostConfig.Mounts ?? []).map((m) => m.Source)
    .concat((rec.HostConfig.Binds ?? []).map((b) => b.split(':')[0])));
  for (const m of rec.Mounts) {
    if (m.Type !== 'volume' || !m.Name || named.has(m.Name)) continue;
    try {
      containers.opts.volumes.remove(m.Name, []);
    } catch { /* already gone */ }
  }
}

/** The security fields as docker inspect shows them when unset. */
function withSecurityDefaults(hostConfig: HostConfig): HostConfig {
  const listOrNull = (list?: string[] | null) => list?.length ? list : null;
  return { ...hostConfig, CapAdd: listOrNull(hostConfig.CapAdd),
    CapDrop: listOrNull(hostConfig.CapDrop),
    Privileged: !!hostConfig.Privileged,
    SecurityOpt: listOrNull(hostConfig.SecurityOpt),
    UsernsMode: hostConfig.UsernsMode ?? '', LogConfig: {
      Type: 'json-file', Config: hostConfig.LogConfig?.Config ?? {} } };
}

/** json-file's options (moby's daemon/logger/jsonfilelog ValidateLogOpt). */
const JSON_FILE_OPTS = ['max-size', 'max-file', 'compress', 'labels',
  'labels-regex', 'env', 'env-regex', 'tag'];

/** Docker's other built-in drivers: known, but not skiff's. */
const OTHER_DRIVERS = ['none', 'local', 'syslog', 'journald', 'gelf',
  'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries'];

/**
 * --log-driver/--log-opt: the json-file driver (the default, also
 * when the Type is empty) is the one skiff has; docker refuses a driver
 * it does not know (it looks for a plugin of that name) and an option
 * its driver does not take, both with 400.
 */
function checkLogConfig(config?: LogConfig): void {
  const type = config?.Type || 'json-file';
  if (OTHER_DRIVERS.includes(type)) {
    throw new BadRequest(`log driver '${type}': skiff keeps json-file ` +
      'logs only');
  }
  if (type !== 'json-file') {
    throw new BadRequest(`error looking up logging plugin ${type}: ` +
      `plugin "${type}" not found`);
  }
  for (const key of Object.keys(config?.Config ?? {})) {
    if (!JSON_FILE_OPTS.includes(key)) {
      throw new BadRequest(`unknown log opt '${key}' for json-file log ` +
        'driver');
    }
  }
}

/** --name, or a free random one; docker's rules and messages. */
function checkName(containers: Containers, name?: string): string {
  if (!name) {
    for (;;) {
      const random = randomName();
      if (!ownerOf(containers, random)) return random;
    }
  }
  return freeName(containers, name);
}

/** The container named `name`, if one is. */
function ownerOf(containers: Containers, name: string)
  : Container | undefined {
  return [...containers.byId.values()]
    .find((container) => container.name === name);
}

/**
 * `name` without its slash, if it is valid and no container has it
 * (create's --name, rename): moby's reserveName, its words (`shown` is
 * the name its refusal quotes: rename's gets a slash first).
 */
export function freeName(containers: Containers, name: string,
  shown = name): string {
  name = name.replace(/^\//, '');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
    throw new BadRequest(`Invalid container name (${shown}), only ` +
      '[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
  }
  const taken = ownerOf(containers, name);
  if (taken) {
    throw new Conflict(`Conflict. The container name "/${name}" is ` +
      `already in use by container "${taken.id}". You have to remove ` +
      '(or rename) that container to be able to reuse that name.');
  }
  return name;
}
