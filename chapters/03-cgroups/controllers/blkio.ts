// Block I/O throttling: bytes (or operations) per second, per device,
// named by major:minor. It only sees I/O that reaches the block layer on
// behalf of the cgroup: O_DIRECT reads and writes, and page-cache
// writeback on v2; on v1, buffered writes escape the throttle.
// v1 (blkio): blkio.throttle.{read,write}_{bps,iops}_device, "8:0 1048576"
// v2 (io):    io.max, one line per device: "8:0 rbps=1048576 wbps=max"
// And proportional weights, per cgroup and per device, where the I/O
// scheduler weighs cgroups (BFQ, or v2's io.cost).
import type {
  LinuxResources, ThrottleDevice,
} from '../../02-namespaces/spec.ts';
import {
  hasCgroupFile, tryReadCgroupFile, writeCgroupFile,
} from '../cgroups/fs.ts';
import {
  unsupported, writeField, type Controller,
} from './controller.ts';

type BlockIO = NonNullable<LinuxResources['blockIO']>;
type ThrottleKey = Extract<keyof BlockIO, `throttle${string}`>;

const V1_FILES: [ThrottleKey, string][] = [
  ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
  ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
  ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
  ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
];

const V2_KEYS: [ThrottleKey, string][] = [
  ['throttleReadBpsDevice', 'rbps'],
  ['throttleWriteBpsDevice', 'wbps'],
  ['throttleReadIOPSDevice', 'riops'],
  ['throttleWriteIOPSDevice', 'wiops'],
];

// #region blkio
export const blkio: Controller = {
  name: 'io', v1: 'blkio', v2: 'io',
  wanted: (r) => r.blockIO?.weight !== undefined ||
    r.blockIO?.leafWeight !== undefined ||
    (r.blockIO?.weightDevice?.length ?? 0) > 0 ||
    V1_FILES.some(([k]) => throttles(r.blockIO, k).length > 0),
  applyV1(dir, r) {
    weightsV1(dir, r.blockIO ?? {});
    for (const [key, file] of V1_FILES) {
      for (const d of throttles(r.blockIO, key)) {
        writeCgroupFile(dir, file, `${d.major}:${d.minor} ${d.rate}`);
      }
    }
  },
  applyV2(dir, r) {
    weightsV2(dir, r.blockIO ?? {});
    // Gather every key of a device into one line of io.max.
    const lines = new Map<string, string[]>();
    for (const [key, name] of V2_KEYS) {
      for (const d of throttles(r.blockIO, key)) {
        const dev = `${d.major}:${d.minor}`;
        const rate = d.rate > 0 ? d.rate : 'max';
        lines.set(dev, [...(lines.get(dev) ?? []), `${name}=${rate}`]);
      }
    }
    for (const [dev, keys] of lines) {
      writeCgroupFile(dir, 'io.max', `${dev} ${keys.join(' ')}`);
    }
  },
};
// #endregion

/**
 * The proportional weight (10..1000): the file of the I/O scheduler the
 * kernel has (CFQ's, or BFQ's since 5.0), none when it has neither.
 */
export function weightFile(dir: string, v2: boolean): string | undefined {
  const files = v2 ? ['io.weight', 'io.bfq.weight']
    : ['blkio.weight', 'blkio.bfq.weight'];
  return files.find((f) => hasCgroupFile(dir, f));
}

function writeWeight(dir: string, weight: number | undefined,
  v2: boolean): void {
  if (weight === undefined) return;
  const file = weightFileFor(dir, v2, 'blockIO.weight');
  writeCgroupFile(dir, file, file === 'io.weight' ? `default ${weight}`
    : weight);
}

/**
 * v1: the default weight, CFQ's leaf weights, per-device weights in the
 * scheduler's file (blkio.weight_device, or BFQ's blkio.bfq.weight_device;
 * CFQ, and with it every leaf_weight file, left Linux in 5.0).
 */
function weightsV1(dir: string, b: BlockIO): void {
  writeWeight(dir, b.weight, false);
  if (b.leafWeight !== undefined) {
    writeField(dir, 'blkio.leaf_weight', b.leafWeight, 'blockIO.leafWeight');
  }
  for (const d of b.weightDevice ?? []) {
    const dev = `${d.major}:${d.minor}`;
    if (d.weight !== undefined) {
      const file = weightFileFor(dir, false, 'blockIO.weightDevice');
      writeCgroupFile(dir, `${file}_device`, `${dev} ${d.weight}`);
    }
    if (d.leafWeight !== undefined) {
      writeField(dir, 'blkio.leaf_weight_device', `${dev} ${d.leafWeight}`,
        'blockIO.weightDevice.leafWeight');
    }
  }
}

/**
 * v2: io.weight takes "default N" and "MAJ:MIN N" lines (a device line
 * needs the io.cost controller on that device, else EOPNOTSUPP), BFQ's
 * io.bfq.weight the same. No leaf weights: a v2 cgroup with children
 * holds no processes of its own, so there is nothing to weigh them by.
 */
function weightsV2(dir: string, b: BlockIO): void {
  if (b.leafWeight !== undefined ||
    b.weightDevice?.some((d) => d.leafWeight !== undefined)) {
    throw unsupported('blockIO.leafWeight', 'cgroup v2 has no leaf ' +
      'weights (the no-internal-process rule)');
  }
  writeWeight(dir, b.weight, true);
  for (const d of b.weightDevice ?? []) {
    if (d.weight === undefined) continue;
    writeCgroupFile(dir, weightFileFor(dir, true, 'blockIO.weightDevice'),
      `${d.major}:${d.minor} ${d.weight}`);
  }
}

function weightFileFor(dir: string, v2: boolean, field: string): string {
  const file = weightFile(dir, v2);
  if (!file) {
    throw unsupported(field, `the kernel has no I/O weight file in ` +
      `${dir} (no scheduler that weighs cgroups)`);
  }
  return file;
}

function throttles(b: BlockIO | undefined, key: ThrottleKey):
  ThrottleDevice[] {
  return b?.[key] ?? [];
}

export interface IoStats { ioReadBytes: number; ioWriteBytes: number }

/** v1: "254:0 Read 4096" lines, summed over devices. */
export function ioStatsV1(dir: string): IoStats {
  const text = tryReadCgroupFile(dir,
    'blkio.throttle.io_service_bytes_recursive') ?? '';
  const out = { ioReadBytes: 0, ioWriteBytes: 0 };
  for (const line of text.split('\n')) {
    const [, op, n] = line.split(' ');
    if (op === 'Read') out.ioReadBytes += Number(n);
    if (op === 'Write') out.ioWriteBytes += Number(n);
  }
  return out;
}

/** v2: "254:0 rbytes=4096 wbytes=0 rios=1 ..." lines of io.stat. */
export function ioStatsV2(dir: string): IoStats {
  const text = tryReadCgroupFile(dir, 'io.stat') ?? '';
  const out = { ioReadBytes: 0, ioWriteBytes: 0 };
  for (const m of text.matchAll(/\b([rw])bytes=(\d+)/g)) {
    if (m[1] === 'r') out.ioReadBytes += Number(m[2]);
    else out.ioWriteBytes += Number(m[2]);
  }
  return out;
}
