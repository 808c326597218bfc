// Every controller that takes a part of the OCI resources, in the order
// they are applied (unified last: its raw files override the rest, as
// in runc).
import { blkio } from './blkio.ts';
import type { Controller } from './controller.ts';
import { cpu } from './cpu.ts';
import { cpuset } from './cpuset.ts';
import { devices } from './devices.ts';
import { hugetlb } from './hugetlb.ts';
import { memory } from './memory.ts';
import { netCls, netPrio } from './network.ts';
import { pids } from './pids.ts';
import { rdma } from './rdma.ts';
import { unified } from './unified.ts';

export const CONTROLLERS: readonly Controller[] = [cpuset, cpu, memory,
  pids, blkio, hugetlb, netCls, netPrio, rdma, devices, unified];
export type { Controller };
