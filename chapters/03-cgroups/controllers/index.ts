// Every controller that takes a part of the OCI resources, in the order
// they are applied.
import { blkio } from './blkio.ts';
import type { Controller } from './controller.ts';
import { cpu } from './cpu.ts';
import { cpuset } from './cpuset.ts';
import { devices } from './devices.ts';
import { memory } from './memory.ts';
import { pids } from './pids.ts';

export const CONTROLLERS: readonly Controller[] =
  [cpuset, cpu, memory, pids, blkio, devices];
export type { Controller };
