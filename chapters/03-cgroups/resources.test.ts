// The rest of the OCI resources (config-linux.md, "Control groups"):
// huge pages, network tags, the memory and CPU extras, I/O weights,
// rdma and v2's raw files. Each read back from the kernel's own files,
// or refused in one line naming the field, with no cgroup left behind.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync, mkdtempSync, readFileSync, rmdirSync, statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  after, before, describe, test, type TestContext,
} from 'node:test';
import { needsRoot, uniqueName } from '../../support/testing.ts';
import type { LinuxResources } from '../02-namespaces/spec.ts';
import {
  cgroupVersion, createCgroup, openCgroup, type Cgroup, type CgroupOptions,
} from './cgroups/manager.ts';
import { detectHierarchies, type Hierarchies } from './cgroups/mode.ts';
import { waitFor } from './cgroups/common.ts';
import { majorMinor } from './flags.ts';
import {
  dropTestParent, holdScript, loopDevice, runIn, TEST_PARENT, testCgroup,
} from './testing.ts';

const V = cgroupVersion();
const MiB = 2 ** 20;
const onV1 = { skip: V === 2 && 'cgroup v1 only' };
const onV2 = { skip: V === 1 && 'cgroup v2 only' };

/** The cgroup's directory that has `file` (v1: one per hierarchy). */
function dirWith(cg: Cgroup, file: string): string {
  const dir = cg.dirs.find((d) => existsSync(join(d, file)));
  assert.ok(dir, `no ${file} in ${cg.dirs.join(' ')}`);
  return dir;
}

function read(cg: Cgroup, file: string): string {
  return readFileSync(join(dirWith(cg, file), file), 'utf8').trim();
}

/** createCgroup refuses `r` with `message`, leaving no cgroup. */
async function refused(r: LinuxResources, message: RegExp,
  opts: CgroupOptions = {}): Promise<void> {
  const path = `${TEST_PARENT}/${uniqueName('t')}`;
  await assert.rejects(createCgroup(path, r, opts), { message });
  assert.throws(() => openCgroup(path, opts), /no such cgroup/);
  dropTestParent();
}

/** Does a fresh cgroup of this host have `file`? (probe, then remove) */
async function kernelHas(t: TestContext, file: string): Promise<boolean> {
  const cg = await testCgroup(t);
  return cg.dirs.some((d) => existsSync(join(d, file)));
}

/** Does the cgroup2 root hand hugetlb down already? */
function hugetlbHandedDown(): boolean {
  const root = detectHierarchies().unified;
  return !root || readFileSync(join(root, 'cgroup.subtree_control'),
    'utf8').split(/\s+/).includes('hugetlb');
}

/**
 * Takes hugetlb back from the children of the cgroup2 root, as before
 * the test: while it is handed down there, a hybrid host cannot mount a
 * v1 hugetlb hierarchy (EBUSY). Best effort: a cgroup still using it
 * keeps it.
 */
function undoHugetlb(): void {
  const root = detectHierarchies().unified!;
  try {
    rmdirSync(join(root, TEST_PARENT));
    writeFileSync(join(root, 'cgroup.subtree_control'), '-hugetlb');
  } catch { /* in use by another cgroup */ }
}

describe(`chapter 03: huge pages (cgroup v${V})`, needsRoot, () => {
  const noPages = !existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB')
    && 'the kernel has no 2MB huge pages';
  let handedDown = true;
  before(() => { handedDown = hugetlbHandedDown(); });
  after(() => { if (!handedDown) undoHugetlb(); });

  test('hugepageLimits: the limit, and the reservation limit, are set',
    { skip: noPages }, async (t) => {
      const cg = await testCgroup(t, { hugepageLimits: [
        { pageSize: '2MB', limit: 4 * MiB }] });
      const suffix = V === 2 || !detectHierarchies().v1.has('hugetlb')
        ? 'max' : 'limit_in_bytes';
      assert.equal(read(cg, `hugetlb.2MB.${suffix}`), String(4 * MiB));
      const rsvd = `hugetlb.2MB.rsvd.${suffix}`;
      if (cg.dirs.some((d) => existsSync(join(d, rsvd)))) {
        assert.equal(read(cg, rsvd), String(4 * MiB));
      }
      // A hybrid host keeps hugetlb in its cgroup2 tree: the processes
      // must be there too, or the limit applies to no one.
      const p = holdScript(t, 'sleep 30');
      cg.addProcess(p.pid);
      const procs = readFileSync(join(dirWith(cg, `hugetlb.2MB.${suffix}`),
        'cgroup.procs'), 'utf8');
      assert.match(procs, new RegExp(`^${p.pid}$`, 'm'));
    });

  test('a page size the kernel lacks: an error naming it, nothing left',
    { skip: noPages }, () => refused({ hugepageLimits: [
      { pageSize: '3MB', limit: MiB }] },
    new RegExp('^linux\\.resources\\.hugepageLimits: page size "3MB": ' +
      "not one of the kernel's \\(.*2MB")));
});

describe(`chapter 03: memory extras (cgroup v${V})`, needsRoot, () => {
  test('v1: kernelTCP, swappiness, OOM killer, hierarchy read back', onV1,
    async (t) => {
      const cg = await testCgroup(t, { memory: { kernelTCP: 8 * MiB,
        swappiness: 17, disableOOMKiller: true, useHierarchy: true } });
      assert.equal(read(cg, 'memory.kmem.tcp.limit_in_bytes'),
        String(8 * MiB));
      assert.equal(read(cg, 'memory.swappiness'), '17');
      assert.match(read(cg, 'memory.oom_control'), /^oom_kill_disable 1$/m);
      assert.equal(read(cg, 'memory.use_hierarchy'), '1');
    });

  test('v1: without the OOM killer, a process over the limit waits',
    onV1, async (t) => {
      const { cg, p } = await runIn(t, { memory: { limit: 16 * MiB,
        disableOOMKiller: true } },
      'x=$(head -c 64000000 /dev/zero | tr "\\0" a); echo survived');
      // The kernel parks the task instead of killing it: under_oom 1.
      assert.ok(await waitFor(() =>
        /^under_oom 1$/m.test(read(cg, 'memory.oom_control')), 60_000),
      read(cg, 'memory.oom_control'));
      assert.match(read(cg, 'memory.oom_control'), /^oom_kill 0$/m);
      assert.ok(cg.procs().includes(p.pid));
      await cg.destroy();
      assert.equal((await p.exited).signal, 'SIGKILL');
    });

  test('v1: kernel memory is written (Linux 5.16+ accepts and ignores it)',
    onV1, async (t) => {
      const cg = await testCgroup(t, { memory: { kernel: 64 * MiB } });
      const got = Number(read(cg, 'memory.kmem.limit_in_bytes'));
      // Before 5.16 the kernel keeps the limit; since, it reports none.
      assert.ok(got === 64 * MiB || got > 2 ** 62, `kmem limit ${got}`);
    });

  test('v1: what the kernel refuses fails naming file and errno', onV1,
    () => refused({ memory: { useHierarchy: false } },
      /^write "0" to \/.*\/memory\.use_hierarchy: EINVAL$/));

  test('v2: the v1-only fields fail naming the field, nothing left', onV2,
    async () => {
      await refused({ memory: { limit: 64 * MiB, swappiness: 10 } },
        /^linux\.resources\.memory\.swappiness: cgroup v2 has no/);
      await refused({ memory: { disableOOMKiller: true } },
        /^linux\.resources\.memory\.disableOOMKiller: cgroup v2/);
      await refused({ memory: { kernel: 64 * MiB } },
        /^linux\.resources\.memory\.kernel: cgroup v2/);
      await refused({ memory: { kernelTCP: 64 * MiB } },
        /^linux\.resources\.memory\.kernelTCP: cgroup v2/);
    });

  test('v2: "no limit" and "hierarchical" are what v2 does: accepted',
    onV2, async (t) => {
      const cg = await testCgroup(t, { memory: { limit: 64 * MiB,
        kernel: -1, swappiness: -1, disableOOMKiller: false,
        useHierarchy: true } });
      assert.equal(read(cg, 'memory.max'), String(64 * MiB));
    });

  test('checkBeforeUpdate: a limit below the usage is refused, the ' +
    'process lives', async (t) => {
    const { cg, p } = await runIn(t, {}, 'x=$(head -c 24000000 ' +
      '/dev/zero | tr "\\0" a); echo held; sleep 60');
    await p.printed(/held/);
    // Without the check, v2 would OOM-kill, v1 swap out or say EBUSY.
    await assert.rejects(cg.apply({ memory: { limit: 8 * MiB, swap:
      8 * MiB, checkBeforeUpdate: true } }), { message:
      /^linux\.resources\.memory\.limit: 8388608 is not above the usage/ });
    assert.ok(cg.procs().includes(p.pid));
    assert.equal(cg.stats().oomKills, 0);
  });
});

describe(`chapter 03: cpu extras (cgroup v${V})`, needsRoot, () => {
  // cpu.burst is the burst lab's (chapters/03-cgroups/labs/burst).
  test('idle reads back', async (t) => {
    if (!await kernelHas(t, 'cpu.idle')) {
      return t.skip('the kernel has no cpu.idle (Linux 5.15)');
    }
    const cg = await testCgroup(t, { cpu: { quota: 50_000,
      period: 100_000, idle: 1 } });
    assert.equal(read(cg, 'cpu.idle'), '1');
  });

  test('v1: a real-time budget lets a process inside use SCHED_FIFO',
    onV1, async (t) => {
      if (!await kernelHas(t, 'cpu.rt_runtime_us')) {
        return t.skip('the kernel has no CONFIG_RT_GROUP_SCHED');
      }
      const chrt = 'chrt -f 1 true && echo rt-ok || echo rt-refused';
      // The control: a new cgroup has no real-time time at all.
      const none = await runIn(t, { cpu: { shares: 1024 } }, chrt);
      await none.p.exited;
      assert.match(none.p.stdout(), /rt-refused/);
      const { cg, p } = await runIn(t, { cpu: { realtimeRuntime: 10_000,
        realtimePeriod: 1_000_000 } }, chrt);
      await p.exited;
      assert.match(p.stdout(), /rt-ok/, p.stderr());
      assert.equal(read(cg, 'cpu.rt_runtime_us'), '10000');
      // The parent was granted at least as much.
      const dir = dirWith(cg, 'cpu.rt_runtime_us');
      assert.ok(Number(readFileSync(join(dir, '../cpu.rt_runtime_us'),
        'utf8')) >= 10_000);
    });

  test('v2: real-time fields fail naming the field', onV2, () =>
    refused({ cpu: { realtimeRuntime: 10_000 } },
      /^linux\.resources\.cpu\.realtimeRuntime: cgroup v2 has no real-time/));
});

describe(`chapter 03: block I/O weights (cgroup v${V})`, needsRoot, () => {
  test('leafWeight: only CFQ (gone since Linux 5.0) had it', async (t) => {
    if (V === 1 && await kernelHas(t, 'blkio.leaf_weight')) {
      const cg = await testCgroup(t, { blockIO: { leafWeight: 300 } });
      return assert.equal(read(cg, 'blkio.leaf_weight'), '300');
    }
    await refused({ blockIO: { leafWeight: 300 } },
      /^linux\.resources\.blockIO\.leafWeight: /);
  });

  test('weightDevice: the device line, where the scheduler weighs it',
    async (t) => {
      const dev = loopDevice(t, 1);
      const { major, minor } = majorMinor(statSync(dev, { bigint: true }).rdev);
      const r = { blockIO: { weightDevice: [{ major, minor,
        weight: 200 }] } };
      if (V === 2) {
        // io.weight's device lines belong to io.cost, which the root's
        // io.cost.qos turns on per device (cgroup-v2.rst, "IO").
        const qos = join(detectHierarchies().unified!, 'io.cost.qos');
        if (!existsSync(qos)) return t.skip('the kernel has no io.cost');
        execFileSync('sh', ['-c',
          `echo "${major}:${minor} enable=1" >${qos}`]);
        t.after(() => execFileSync('sh', ['-c',
          `echo "${major}:${minor} enable=0" >${qos}`]));
      }
      const probe = await testCgroup(t);
      const file = ['io.weight', 'io.bfq.weight', 'blkio.weight',
        'blkio.bfq.weight'].find((f) => probe.dirs.some((d) =>
        existsSync(join(d, f))));
      if (!file) {
        // This host: v1 without BFQ or CFQ, so no weights at all.
        return refused(r, new RegExp('^linux\\.resources\\.blockIO\\.' +
          'weightDevice: the kernel has no I/O weight file'));
      }
      const cg = await testCgroup(t, r);
      const out = V === 2 ? file : `${file}_device`;
      assert.match(read(cg, out), new RegExp(`^${major}:${minor} 200$`, 'm'));
    });

  test('v2: no leaf weights per device either', onV2, () =>
    refused({ blockIO: { weightDevice: [{ major: 1, minor: 3,
      leafWeight: 100 }] } }, /^linux\.resources\.blockIO\.leafWeight: /));
});

/**
 * Runs `fn` with the host's hierarchies plus net_cls and net_prio. This
 * host has both in its kernel but mounts neither, so one hierarchy for
 * the two is mounted in a temporary directory, and unmounted after (in
 * `finally`, not t.after: those run first-registered first, and stop at
 * the first that throws).
 */
async function withNetHierarchy(t: TestContext,
  fn: (h: Hierarchies) => Promise<void>): Promise<void> {
  const h = detectHierarchies();
  if (h.v1.has('net_cls') && h.v1.has('net_prio')) return fn(h);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-netcls-'));
  const r = spawnSync('mount', ['-t', 'cgroup', '-o', 'net_cls,net_prio',
    'skiff-test', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmdirSync(dir);
    return t.skip(`cannot mount net_cls,net_prio: ${r.stderr}`);
  }
  try {
    const v1 = new Map(h.v1).set('net_cls', dir).set('net_prio', dir);
    await fn({ ...h, v1 });
  } finally {
    try { rmdirSync(join(dir, TEST_PARENT)); } catch { /* none made */ }
    execFileSync('umount', [dir]);
    rmdirSync(dir);
  }
}

describe(`chapter 03: network tags (cgroup v${V})`, needsRoot, () => {
  test('v1: net_cls.classid and net_prio.ifpriomap', onV1, (t) =>
    withNetHierarchy(t, async (hierarchies) => {
      const path = `${TEST_PARENT}/${uniqueName('t')}`;
      const cg = await createCgroup(path, { network: { classID: 0x100001,
        priorities: [{ name: 'lo', priority: 5 }] } }, { hierarchies });
      try {
        assert.equal(read(cg, 'net_cls.classid'), String(0x100001));
        assert.match(read(cg, 'net_prio.ifpriomap'), /^lo 5$/m);
        // The process joins that hierarchy too.
        const p = holdScript(t, 'sleep 30');
        cg.addProcess(p.pid);
        assert.match(readFileSync(`/proc/${p.pid}/cgroup`, 'utf8'),
          new RegExp(`net_cls,net_prio:${path}$`, 'm'));
      } finally {
        await cg.destroy();
        dropTestParent();
      }
    }));

  test('v1: an interface the host lacks: ENODEV naming the file', onV1,
    (t) => withNetHierarchy(t, (hierarchies) => refused({ network: {
      priorities: [{ name: 'nosuch0', priority: 1 }] } },
    /net_prio\.ifpriomap: ENODEV$/, { hierarchies })));

  test('v1: a host without the hierarchy says so', onV1, () => {
    const h = detectHierarchies();
    const v1 = new Map([...h.v1].filter(([k]) => k !== 'net_cls'));
    return refused({ network: { classID: 1 } },
      /^cgroup: the host has no net_cls controller \(cgroup v1\)$/,
      { hierarchies: { ...h, v1 } });
  });

  test('v2: network fails naming the field, nothing left', onV2, () =>
    refused({ network: { classID: 0x100001 } },
      /^linux\.resources\.network\.classID: cgroup v2 has no net_cls/));
});

describe(`chapter 03: rdma (cgroup v${V})`, needsRoot, () => {
  test('a device the kernel does not have: ENODEV, or no controller',
    async () => {
      const h = detectHierarchies();
      const offered = V === 2 && readFileSync(join(h.unified!,
        'cgroup.controllers'), 'utf8').split(/\s+/).includes('rdma');
      const r = { rdma: { skiffnodev0: { hcaHandles: 2 } } };
      if (offered || h.v1.has('rdma')) {
        await refused(r, /rdma\.max: ENODEV$/);
      } else {
        // This host's kernel: no CONFIG_CGROUP_RDMA.
        await refused(r, /^cgroup: the host has no rdma controller/);
      }
    });
});

describe(`chapter 03: unified (cgroup v${V})`, needsRoot, () => {
  test('v1: refused naming the field, nothing left', onV1, () =>
    refused({ unified: { 'memory.high': '33554432' } },
      /^linux\.resources\.unified: cgroup v2 files/));

  test('v2: each file written as given, its controller enabled', onV2,
    async (t) => {
      const cg = await testCgroup(t, { unified: {
        'memory.high': String(32 * MiB), 'pids.max': '50' } });
      assert.equal(read(cg, 'memory.high'), String(32 * MiB));
      assert.equal(read(cg, 'pids.max'), '50');
    });

  test('v2: names that climb out or name no controller', onV2, async () => {
    await refused({ unified: { '../cgroup.procs': '1' } },
      /^linux\.resources\.unified "\.\.\/cgroup\.procs": not a cgroup file/);
    await refused({ unified: { 'nosuch.max': '1' } },
      /^cgroup: the host has no nosuch controller \(cgroup v2\)$/);
  });
});
