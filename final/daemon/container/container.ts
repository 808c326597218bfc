// A container as the daemon keeps it: a directory <root>/containers/<id>/
// with state.json (docker inspect's shape, written atomically), its log
// (<id>-json.log) and, while it runs, config.json (the OCI spec its init
// read); and an object that emits `start`, `exit` and `removed`.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Spec } from '../../../chapters/02-namespaces/spec.ts';
import {
  ZERO_TIME, type ContainerState, type CreateBody, type EndpointConfig,
  type HostConfig,
} from '../../api-types.ts';
import type { ContainerIo } from '../io.ts';
import { LogFile } from '../logs.ts';
import type { Running, SavedSteps } from '../runtime.ts';
import { readJson, writeJson } from '../state.ts';

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** What state.json holds: docker inspect's fields plus our own. */
export interface ContainerRecord {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  LogPath: string;
  RestartCount: number;
  Driver: string;
  Platform: 'linux';
  Mounts: MountPoint[];
  /** The request's Config merged with the image's, as docker keeps it. */
  Config: CreateBody;
  HostConfig: HostConfig;
  /**
   * The networks it is on or will join at its start, by name, with what
   * was asked (aliases, address): create's NetworkingConfig and
   * `network connect`. Inspect shows them in NetworkSettings.Networks.
   */
  Endpoints?: Record<string, EndpointConfig>;
  /** Start time of State.Pid (/proc/PID/stat field 22), against reuse. */
  PidStartTime?: number;
  /** What the start steps recorded, so a later daemon can undo them. */
  StepData?: SavedSteps;
  /** docker's: stopped or killed by the user, so `unless-stopped` stays
   * down even when a daemon starts again. */
  HasBeenManuallyStopped?: boolean;
}

// #region container
export class Container extends EventEmitter {
  io?: ContainerIo;
  running?: Running;
  log: LogFile;
  /** Set by stop/kill-by-user: the restart policy must not apply. */
  stopping = false;
  restartTimer?: NodeJS.Timeout;
  removed = false;
  /** Between a start's first step and its record (sweep.ts). */
  starting = false;

  constructor(readonly dir: string, public rec: ContainerRecord) {
    super();
    this.setMaxListeners(0);
    this.log = new LogFile(rec.LogPath);
  }

  get id(): string { return this.rec.Id; }
  get name(): string { return this.rec.Name.slice(1); }
  get isRunning(): boolean { return this.rec.State.Running; }
  // #endregion

  /** Writes state.json; a full or read-only disk throws, named. */
  save(): void {
    if (!this.removed) writeJson(join(this.dir, 'state.json'), this.rec);
  }

  // Where no request waits (an exit, a restart): logged, not thrown.
  saveOrLog(): void {
    try {
      this.save();
    } catch (err) {
      console.error(`skiff daemon: container ${this.id.slice(0, 12)}: ` +
        (err as Error).message);
    }
  }

  /** The spec its init read at the last start (exec, top, stats). */
  spec(): Spec {
    return readJson<Spec>(join(this.dir, 'config.json'));
  }
}

/** The state of a container that has not run (yet, or again). */
export function freshState(): ContainerState {
  return {
    Status: 'created', Running: false, Paused: false, Restarting: false,
    OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '',
    StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
  };
}
