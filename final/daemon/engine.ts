// The daemon's parts, wired: containers, images, volumes, the runtime.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { mountInfo } from '../../chapters/02-namespaces/procfs.ts';
import {
  apparmorEnabled, selinuxEnabled,
} from '../../chapters/06-security/lsm.ts';
import { API_VERSION, SKIFF_VERSION } from '../paths.ts';
import { Containers } from './container/registry.ts';
import {
  removeOrphanLayers, seedBusybox, StoreImages, type ImageSource,
} from './images.ts';
import { chapterRuntime, engineNetConfig, type Runtime } from
  './runtime.ts';
import { Events } from './events.ts';
import { EmbeddedDns, networkDirectory } from './dns.ts';
import { Networks } from './networks.ts';
import type { Remap } from './userns.ts';
import { Volumes } from './volumes.ts';
import type { NetConfig } from '../../chapters/05-network/networks.ts';

export interface EngineConfig {
  root: string;
  sock: string;
  /** --userns-remap: every container's user namespace (userns.ts). */
  remap?: Remap;
}

export class Engine {
  readonly images: ImageSource;
  readonly volumes: Volumes;
  readonly containers: Containers;
  readonly runtime: Runtime;
  /** The host network configuration the runtime and `network` share. */
  readonly net: NetConfig;
  readonly networks: Networks;
  /** What changed, for GET /events (events.ts). */
  readonly events = new Events();
  readonly startedAt = new Date();
  /** Settles once a fresh root has its busybox image. */
  readonly ready: Promise<void>;

  constructor(readonly config: EngineConfig) {
    this.images = new StoreImages(config.root);
    this.ready = seedBusybox(this.images.store).then(() =>
      removeOrphanLayers(this.images.store,
        join(config.root, 'containers')));
    this.volumes = new Volumes(join(config.root, 'volumes'), this.events);
    this.net = engineNetConfig(config.root);
    this.runtime = chapterRuntime(this.net, this.images.store);
    this.networks = new Networks(this.net, (id) =>
      this.containers.byId.get(id)?.name);
    this.containers = new Containers({
      root: config.root, images: this.images, runtime: this.runtime,
      volumes: this.volumes, remap: config.remap, events: this.events,
      net: this.net, networks: this.networks,
      dns: new EmbeddedDns(networkDirectory(() => this.containers,
        this.net)),
    });
  }

  version() {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    return {
      Platform: { Name: 'skiff' },
      // docker version prints the Engine's Details
      Components: [{ Name: 'Engine', Version: SKIFF_VERSION,
        Details: { ApiVersion: API_VERSION, MinAPIVersion: '1.24',
          NodeVersion: process.version, GoVersion: process.version,
          Os: 'linux', Arch: arch, Experimental: 'false', GitCommit: '',
          BuildTime: '', Runtime: this.runtime.name } }],
      Version: SKIFF_VERSION, ApiVersion: API_VERSION,
      MinAPIVersion: '1.24', GitCommit: '', GoVersion: process.version,
      Os: 'linux', Arch: arch, KernelVersion: os.release(),
      BuildTime: '',
    };
  }

  info() {
    const all = this.containers.list();
    const running = all.filter((c) => c.isRunning && !c.rec.State.Paused);
    const paused = all.filter((c) => c.rec.State.Paused);
    return {
      ID: this.config.root, Containers: all.length,
      ContainersRunning: running.length, ContainersPaused: paused.length,
      ContainersStopped: all.length - running.length - paused.length,
      Images: this.images.list().length, Driver: 'overlay2',
      DockerRootDir: this.config.root, KernelVersion: os.release(),
      OperatingSystem: osName(), OSType: 'linux',
      Architecture: os.machine(), NCPU: os.cpus().length,
      MemTotal: os.totalmem(), Name: os.hostname(),
      ServerVersion: SKIFF_VERSION, CgroupVersion: cgroupVersion(),
      CgroupDriver: 'cgroupfs', LoggingDriver: 'json-file',
      DefaultRuntime: this.runtime.name, Runtimes: {
        [this.runtime.name]: {} },
      Volumes: this.volumes.list().length,
      Socket: this.config.sock,
      NEventsListener: this.events.listeners(),
      SecurityOptions: this.securityOptions(),
    };
  }

  /** docker's list: "name=KEY[,k=v]" per mechanism confining containers. */
  private securityOptions(): string[] {
    const opts: string[] = [];
    if (apparmorEnabled()) opts.push('name=apparmor');
    opts.push('name=seccomp,profile=builtin');
    if (selinuxEnabled()) opts.push('name=selinux');
    if (this.config.remap) opts.push('name=userns');
    opts.push('name=cgroupns');
    return opts;
  }
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)/m.exec(text)?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

/** "2" when /sys/fs/cgroup is cgroup2 itself, else "1" (v1 or hybrid). */
export function cgroupVersion(): '1' | '2' {
  return mountInfo().some((m) => m.mountPoint === '/sys/fs/cgroup' &&
    m.fsType === 'cgroup2') ? '2' : '1';
}
