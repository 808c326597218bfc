// The cgroup manager on whatever this host has (v1 here, v2 in vm-run):
// lifecycle, accounting, freezer, killing, and refusing what it cannot do.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { processState } from '../02-namespaces/harness.ts';
import { needsRoot, tempDir, uniqueName } from '../../support/testing.ts';
import {
  cgroupVersion, createCgroup, openCgroup,
} from './cgroups/manager.ts';
import { detectHierarchies } from './cgroups/mode.ts';
import {
  cpuSeconds, dropTestParent, holdScript, runIn, sleep, TEST_PARENT,
  testCgroup,
} from './testing.ts';

const HYBRID = [
  '30 24 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
  '32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
  '33 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,' +
    'name=systemd',
].join('\n');

describe('chapter 03: cgroup mode detection', () => {
  test('hybrid: v1 controllers next to a cgroup2 mount', () => {
    const h = detectHierarchies(HYBRID);
    assert.equal(h.mode, 'hybrid');
    assert.equal(h.unified, '/sys/fs/cgroup/unified');
    assert.equal(h.v1.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(h.v1.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.ok(!h.v1.has('xattr') && !h.v1.has('name=systemd'));
  });

  test('unified and legacy', () => {
    const unified = '25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
    assert.equal(detectHierarchies(unified).mode, 'unified');
    const legacy = HYBRID.split('\n').filter((l) => !l.includes('cgroup2'));
    assert.equal(detectHierarchies(legacy.join('\n')).mode, 'legacy');
  });
});

describe(`chapter 03: cgroup manager (v${cgroupVersion()})`, needsRoot, () => {
  test('create makes the directories, destroy removes them, twice',
    async (t) => {
    const cg = await testCgroup(t);
    assert.ok(cg.dirs.length >= 1);
    for (const dir of cg.dirs) assert.ok(existsSync(dir), dir);
    await cg.destroy();
    await cg.destroy();
    for (const dir of cg.dirs) assert.ok(!existsSync(dir), dir);
  });

  test('a process added runs inside, and so do its children', async (t) => {
    const { cg, p } = await runIn(t, {},
      'sleep 30 & echo child $!; cat /proc/self/cgroup; wait');
    await p.printed(/child \d+/);
    const child = Number(/child (\d+)/.exec(p.stdout())![1]);
    await sleep(100);
    assert.ok(cg.procs().includes(p.pid));
    assert.ok(cg.procs().includes(child), `${cg.procs()}`);
    // cat's line may come well after the echo's in a slow VM.
    await p.printed(new RegExp(cg.path));
  });

  test('destroy kills stragglers, then removes the cgroup', async (t) => {
    const { cg, p } = await runIn(t, {},
      'trap "" TERM; sleep 60 & sleep 60 & echo up; wait');
    await p.printed(/up/);
    assert.ok(cg.procs().length >= 3);
    await cg.destroy();
    assert.equal((await p.exited).signal, 'SIGKILL');
    for (const dir of cg.dirs) assert.ok(!existsSync(dir), dir);
  });

  test('accounting: CPU time, memory, pids read back', async (t) => {
    const { cg, p } = await runIn(t, {}, [
      "x=$(head -c 24000000 /dev/zero | tr '\\0' a)",
      'sleep 60 & sleep 60 &',
      'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done',
      'echo ready; wait',
    ].join('\n'));
    await p.printed(/ready/);
    const s = cg.stats();
    const cpu = cpuSeconds(p.pid);
    // The kernel's per-cgroup count agrees with the process's own.
    assert.ok(s.cpuUsageNs / 1e9 >= cpu * 0.8 && s.cpuUsageNs > 1e8,
      `cgroup ${s.cpuUsageNs / 1e9}s vs process ${cpu}s`);
    assert.ok(s.memoryBytes >= 24e6, `memory ${s.memoryBytes}`);
    assert.equal(s.pids, 3);
    assert.equal(s.oomKills, 0);
    assert.equal(s.memoryLimit, null);
  });

  test('freeze stops the processes and thaw resumes them', async (t) => {
    const { cg, p } = await runIn(t, {}, 'echo go; while :; do :; done');
    await p.printed(/go/);
    await sleep(300);
    assert.equal(processState(p.pid), 'R');
    await cg.freeze();
    assert.equal(cg.state(), 'frozen');
    // Frozen tasks sleep in the kernel: D on v1, S on v2; never R.
    assert.match(processState(p.pid) ?? '-', /^[DS]$/);
    const frozenAt = cpuSeconds(p.pid);
    await sleep(700);
    assert.equal(cpuSeconds(p.pid), frozenAt, 'CPU time moved while frozen');
    // Another process, opened by path, sees the same state: `docker pause`.
    assert.equal(openCgroup(cg.path).state(), 'frozen');
    await cg.thaw();
    assert.equal(cg.state(), 'thawed');
    await sleep(700);
    assert.equal(processState(p.pid), 'R');
    // Any progress will do: a loaded host may give the loop little.
    assert.ok(cpuSeconds(p.pid) > frozenAt, 'did not resume');
  });

  test('killAll with a signal other than SIGKILL delivers it', async (t) => {
    const { cg, p } = await runIn(t, {},
      'trap "echo got-term; exit 3" TERM; echo up; ' +
      'while :; do sleep 0.1; done');
    await p.printed(/up/);
    await cg.killAll('SIGTERM');
    assert.equal((await p.exited).code, 3);
  });

  test('the host keeps working: new processes are not put inside',
    async (t) => {
    const cg = await testCgroup(t, { pids: { limit: 1 } });
    const r = spawnSync('sh', ['-c', 'true & wait']);
    assert.equal(r.status, 0);
    assert.equal(cg.procs().length, 0);
  });
});

describe('chapter 03: refusing what the host cannot do', needsRoot, () => {
  test('v1: a controller the host lacks: error, no cgroup left', (t) => {
    // Pretend v1 hierarchies for memory and cpu only, but no pids.
    const root = tempDir(t);
    const v1 = new Map([['memory', join(root, 'memory')],
      ['cpu', join(root, 'cpu')]]);
    const hierarchies = { mode: 'legacy' as const, v1 };
    return assert.rejects(createCgroup('/skiff/x', { pids: { limit: 5 } },
      { hierarchies }),
    { message: 'cgroup: the host has no pids controller (cgroup v1)' })
      .then(() => assert.ok(!existsSync(join(root, 'memory/skiff'))));
  });

  test('v2: a controller the tree lacks: error, no cgroup left', (t) => {
    // A pretend cgroup2 root offering only cpu and memory.
    const root = tempDir(t);
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), '');
    const hierarchies = { mode: 'unified' as const, unified: root,
      v1: new Map() };
    return assert.rejects(async () => {
      await createCgroup('/skiff/x', { pids: { limit: 5 } },
        { hierarchies });
    }, { message: 'cgroup: the host has no pids controller (cgroup v2)' })
      .then(() => assert.ok(!existsSync(join(root, 'skiff/x'))));
  });

  test('v2: the no-internal-process rule is explained',
    { skip: cgroupVersion() === 1 && 'v1 has no such rule' }, async (t) => {
      const { cg } = await runIn(t, {}, 'sleep 60');
      await assert.rejects(createCgroup(`${cg.path}/child`),
        /EBUSY: the cgroup holds processes of its own/);
    });

  test('a limit the kernel refuses: an error, no cgroup left', async (t) => {
    t.after(dropTestParent);
    const path = `${TEST_PARENT}/${uniqueName('t')}`;
    await assert.rejects(createCgroup(path, { cpu: { cpus: '4096' } }),
      /cpuset "4096": not a subset/);
    assert.throws(() => openCgroup(path), /no such cgroup/);
  });

  test('a path climbing out of the hierarchy is refused', async () => {
    await assert.rejects(createCgroup('/skiff/../../etc'), /invalid/);
  });

  test('holdScript waits until released', async (t) => {
    const p = holdScript(t, 'echo ran');
    await sleep(200);
    assert.equal(p.stdout(), '');
    p.release();
    await p.printed(/ran/);
  });
});
