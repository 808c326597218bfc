// net_cls and net_prio (v1 only): tags for the cgroup's packets. The
// kernel does not limit anything with them; tc(8) filters and iptables'
// cgroup match act on net_cls.classid, the queueing discipline on the
// priority net_prio.ifpriomap gives the packets on each interface.
// cgroup v2 has neither: BPF programs attached to the cgroup replace
// them. runc ignores network on v2; the runtime spec does not say it MAY
// be ignored, so here it fails naming the field.
import { writeCgroupFile } from '../cgroups/fs.ts';
import { unsupported, type Controller } from './controller.ts';

const ON_V2 = 'cgroup v2 has no net_cls or net_prio controller';

export const netCls: Controller = {
  name: 'net_cls', v1: 'net_cls', v2: null,
  wanted: (r) => r.network?.classID !== undefined,
  applyV1: (dir, r) => writeCgroupFile(dir, 'net_cls.classid',
    r.network!.classID!),
  applyV2() { throw unsupported('network.classID', ON_V2); },
};

export const netPrio: Controller = {
  name: 'net_prio', v1: 'net_prio', v2: null,
  wanted: (r) => (r.network?.priorities?.length ?? 0) > 0,
  applyV1(dir, r) {
    // One "interface priority" per write; the kernel looks the name up
    // in the writer's network namespace (ENODEV if there is none), the
    // runtime's, as the spec says.
    for (const { name, priority } of r.network?.priorities ?? []) {
      writeCgroupFile(dir, 'net_prio.ifpriomap', `${name} ${priority}`);
    }
  },
  applyV2() { throw unsupported('network.priorities', ON_V2); },
};
