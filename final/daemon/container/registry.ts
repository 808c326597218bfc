// The daemon's containers, by id: the one object the API sees. Each
// operation lives in a file of its own (create.ts, start.ts, stop.ts,
// kill.ts, pause.ts, remove.ts, wait.ts, exit.ts with the restart
// policy, adopt.ts for those a previous daemon started); this class
// holds what they share and hands each call to its file.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateBody } from '../../api-types.ts';
import type { ImageSource } from '../images.ts';
import type { Runtime } from '../runtime.ts';
import { readJson } from '../state.ts';
import type { Remap } from '../userns.ts';
import { BadRequest, NotFound } from '../errors.ts';
import type { Volumes } from '../volumes.ts';
import type { Events } from '../events.ts';
import type { EmbeddedDns } from '../dns.ts';
import type { Networks } from '../networks.ts';
import type { NetConfig } from '../../../chapters/05-network/networks.ts';
import { Execs } from '../execs.ts';
import { Healthchecks } from '../health.ts';
import { Adoption } from './adopt.ts';
import { Container } from './container.ts';
import { createContainer } from './create.ts';
import { killContainer } from './kill.ts';
import { pauseContainer, unpauseContainer } from './pause.ts';
import { removeContainer } from './remove.ts';
import { renameContainer } from './rename.ts';
import { startContainer } from './start.ts';
import { stopContainer } from './stop.ts';
import { updateContainer, type UpdateBody } from './update.ts';
import { waitContainer } from './wait.ts';

export interface EngineOptions {
  root: string;
  images: ImageSource;
  runtime: Runtime;
  volumes: Volumes;
  /** --userns-remap: the range every container's user namespace maps. */
  remap?: Remap;
  /** The daemon's event bus (events.ts). */
  events: Events;
  /** Chapter 05's host network configuration, shared with networks. */
  net: NetConfig;
  /** The networks, by name or id (networks.ts). */
  networks: Networks;
  /** The embedded DNS server of user networks (dns.ts). */
  dns?: EmbeddedDns;
}

export class Containers {
  readonly byId = new Map<string, Container>();
  /** <root>/containers: one directory per container. */
  readonly dir: string;
  /** Containers a previous daemon started, watched till they end. */
  readonly adoption = new Adoption(this);
  /** docker exec's processes; healthchecks run theirs through it too. */
  readonly execs: Execs;
  /** Each running container's healthcheck (health.ts). */
  readonly health: Healthchecks;

  constructor(readonly opts: EngineOptions) {
    this.dir = join(opts.root, 'containers');
    mkdirSync(this.dir, { recursive: true });
    this.execs = new Execs(this, opts.runtime);
    this.health = new Healthchecks(this.execs, opts.events);
  }

  // #region lookup
  /** By full id, name, or unique id prefix: docker's lookup order. */
  get(ref: string): Container {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const name = ref.replace(/^\//, '');
    const all = [...this.byId.values()];
    const named = all.find((container) => container.name === name);
    if (named) return named;
    const hits = all.filter((container) => container.id.startsWith(ref));
    if (hits.length === 1 && ref.length > 0) return hits[0];
    if (hits.length > 1) {
      throw new BadRequest(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw new NotFound(`No such container: ${ref}`);
  }
  // #endregion

  /** Newest first, as `docker ps`. */
  list(): Container[] {
    return [...this.byId.values()].sort((a, b) =>
      b.rec.Created.localeCompare(a.rec.Created));
  }

  /** Ids of the containers that mount volume `name`. */
  usersOf(name: string): string[] {
    return this.list().filter((container) => container.rec.Mounts.some(
      (mount) => mount.Type === 'volume' && mount.Name === name))
      .map((container) => container.id);
  }

  /**
   * Tells the event bus that `container` did `action`, with docker's
   * attributes: `extra` (die's exitCode, kill's signal), its labels,
   * its image as the user named it, its name (moby's
   * LogContainerEventWithAttributes, in that order of precedence).
   */
  event(container: Container, action: string,
    extra: Record<string, string> = {}): void {
    const image = container.rec.Config.Image;
    this.opts.events.emit('container', action, container.id, {
      ...extra, ...container.rec.Config.Labels,
      ...(image ? { image } : {}), name: container.name });
  }

  create(body: CreateBody, name?: string): Container {
    return createContainer(this, body, name);
  }

  start(container: Container): Promise<void> {
    return startContainer(this, container);
  }

  stop(container: Container, timeout?: number, signal?: string)
    : Promise<void> {
    return stopContainer(this, container, timeout, signal);
  }

  kill(container: Container, signal = 'SIGKILL'): void {
    killContainer(this, container, signal);
  }

  pause(container: Container): Promise<void> {
    return pauseContainer(this, container);
  }

  unpause(container: Container): Promise<void> {
    return unpauseContainer(this, container);
  }

  remove(container: Container, force = false, volumes = false)
    : Promise<void> {
    return removeContainer(this, container, force, volumes);
  }

  rename(container: Container, name: string): void {
    renameContainer(this, container, name);
  }

  update(container: Container, body: UpdateBody): Promise<string[]> {
    return updateContainer(this, container, body);
  }

  wait(container: Container, condition?: string, gone?: AbortSignal)
    : Promise<number> {
    return waitContainer(container, condition, gone);
  }

  /** At daemon start: every container of the state root (adopt.ts). */
  recover(): Promise<void> {
    return this.adoption.recover(this.load());
  }

  /** Reads every container's state.json; drops half-created ones. */
  private load(): Container[] {
    const found: Container[] = [];
    for (const id of readdirSync(this.dir)) {
      const file = join(this.dir, id, 'state.json');
      if (!existsSync(file)) {
        rmSync(join(this.dir, id), { recursive: true, force: true });
        continue;
      }
      const container = new Container(join(this.dir, id), readJson(file));
      this.byId.set(id, container);
      found.push(container);
    }
    return found;
  }

  /** Stops watching (daemon shutdown); containers keep running. */
  detachAll(): void {
    this.adoption.unwatch();
    this.opts.dns?.closeAll();
    this.health.unwatchAll();
    for (const container of this.byId.values()) {
      clearTimeout(container.restartTimer);
      container.io?.destroy();
      container.log.close();
    }
  }
}
