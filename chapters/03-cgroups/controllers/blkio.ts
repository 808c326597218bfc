// Block I/O throttling: bytes (or operations) per second, per device,
// named by major:minor. It only sees I/O that reaches the block layer on
// behalf of the cgroup: O_DIRECT reads and writes, and page-cache
// writeback on v2; on v1, buffered writes escape the throttle.
// v1 (blkio): blkio.throttle.{read,write}_{bps,iops}_device, "8:0 1048576"
// v2 (io):    io.max, one line per device: "8:0 rbps=1048576 wbps=max"
import type {
  LinuxResources, ThrottleDevice,
} from '../../02-namespaces/spec.ts';
import {
  CgroupError, hasCgroupFile, tryReadCgroupFile, writeCgroupFile,
} from '../cgroups/fs.ts';
import type { Controller } from './controller.ts';

type BlockIO = NonNullable<LinuxResources['blockIO']>;

const V1_FILES: [keyof BlockIO, string][] = [
  ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
  ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
  ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
  ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
];

const V2_KEYS: [keyof BlockIO, string][] = [
  ['throttleReadBpsDevice', 'rbps'],
  ['throttleWriteBpsDevice', 'wbps'],
  ['throttleReadIOPSDevice', 'riops'],
  ['throttleWriteIOPSDevice', 'wiops'],
];

// #region blkio
export const blkio: Controller = {
  name: 'io', v1: 'blkio', v2: 'io',
  wanted: (r) => r.blockIO?.weight !== undefined ||
    V1_FILES.some(([k]) => throttles(r.blockIO, k).length > 0),
  applyV1(dir, r) {
    writeWeight(dir, r.blockIO?.weight, false);
    for (const [key, file] of V1_FILES) {
      for (const d of throttles(r.blockIO, key)) {
        writeCgroupFile(dir, file, `${d.major}:${d.minor} ${d.rate}`);
      }
    }
  },
  applyV2(dir, r) {
    writeWeight(dir, r.blockIO?.weight, true);
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
  const file = weightFile(dir, v2);
  if (!file) {
    throw new CgroupError(`cgroup ${dir}: the kernel has no I/O ` +
      'weight file (no scheduler that weighs cgroups)');
  }
  writeCgroupFile(dir, file, file === 'io.weight' ? `default ${weight}`
    : weight);
}

function throttles(b: BlockIO | undefined, key: keyof BlockIO):
  ThrottleDevice[] {
  const list = b?.[key];
  return Array.isArray(list) ? list : [];
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
