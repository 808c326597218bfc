// rdma: caps on RDMA (InfiniBand, RoCE) handles and objects per device.
// v1 and v2 alike: rdma.max, one "mlx5_1 hca_handle=3 hca_object=10000"
// line per device; the kernel answers a device it does not have with
// ENODEV.
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import { writeCgroupFile } from '../cgroups/fs.ts';
import { unsupported, type Controller } from './controller.ts';

function writeRdma(dir: string, rdma: LinuxResources['rdma'] = {}): void {
  for (const [device, l] of Object.entries(rdma)) {
    const keys = [
      l.hcaHandles !== undefined ? `hca_handle=${l.hcaHandles}` : '',
      l.hcaObjects !== undefined ? `hca_object=${l.hcaObjects}` : '',
    ].filter(Boolean);
    if (keys.length === 0) {
      throw unsupported(`rdma.${device}`, 'neither hcaHandles nor ' +
        'hcaObjects (the spec asks for at least one)');
    }
    writeCgroupFile(dir, 'rdma.max', `${device} ${keys.join(' ')}`);
  }
}

export const rdma: Controller = {
  name: 'rdma', v1: 'rdma', v2: 'rdma',
  wanted: (r) => Object.keys(r.rdma ?? {}).length > 0,
  applyV1: (dir, r) => writeRdma(dir, r.rdma),
  applyV2: (dir, r) => writeRdma(dir, r.rdma),
};
