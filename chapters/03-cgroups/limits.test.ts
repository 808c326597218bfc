// Each controller's effect, measured from the host. Every test would
// fail with its limit removed (see the comment above each assertion).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { processState } from '../02-namespaces/harness.ts';
import { needsRoot, uniqueName } from '../../support/testing.ts';
import { cgroupVersion, openCgroup } from './cgroups/manager.ts';
import { parseKeyed } from './cgroups/fs.ts';
import { onlineCpus } from './flags.ts';
import {
  cpuRate, cpuSeconds, runIn, sleep, startIn, waitPrinted,
} from './testing.ts';

const V = cgroupVersion();
const MiB = 2 ** 20;

/** The directory of `cg` that holds `file` (v1: one per hierarchy). */
function fileOf(dirs: readonly string[], file: string): string {
  const dir = dirs.find((d) => existsSync(join(d, file)));
  assert.ok(dir, `no ${file} in ${dirs}`);
  return join(dir, file);
}

describe(`chapter 03: limits measured (cgroup v${V})`, needsRoot, () => {
  test('memory: past the limit the kernel OOM-kills, exit 137', async (t) => {
    const sibling = await startIn(t, {}, ['sleep', '60']);
    const c = await startIn(t, { memory: { limit: 32 * MiB } },
      // The shell (PID 1) keeps 200 MiB of output in memory.
      ['sh', '-c', 'x=$(head -c 200m /dev/zero | tr "\\0" a); ' +
        'echo survived']);
    const status = await c.wait();
    // Without the limit: tail finishes, "survived", exit 0.
    assert.equal(status.code, 137, c.stdout() + c.stderr());
    assert.equal(c.stdout(), '');
    assert.ok(c.cgroup.stats().oomKills >= 1);
    const events = V === 2 ? 'memory.events' : 'memory.oom_control';
    const counted = parseKeyed(readFileSync(fileOf(c.cgroup.dirs, events),
      'utf8')).get('oom_kill');
    assert.ok(counted! >= 1, `${events}: oom_kill ${counted}`);
    // The other container and the host live on.
    assert.ok(existsSync(`/proc/${sibling.container.pid}`));
    assert.equal(sibling.cgroup.procs().length, 1);
    assert.equal(spawnSync('sh', ['-c', 'echo ok']).stdout.toString(), 'ok\n');
  });

  test('cpu: --cpus 0.5 holds a busy loop near half a CPU', async (t) => {
    // Other tests load this host (and an emulated VM is slow): were the
    // loop to get less than half a CPU anyway, the quota would never
    // bind. So it runs in a cgroup at the top of the tree with the
    // highest weight: wanting a CPU, it gets nearly all of one, and only
    // the quota holds it back.
    const { cg, p } = await runIn(t, { cpu: { quota: 50_000,
      period: 100_000, shares: 262_144 } }, 'echo go; while :; do :; done',
    `/${uniqueName('skiff-t')}`);
    await p.printed(/go/);
    await sleep(300);
    const rate = await cpuRate(p.pid, 3000);
    // Unlimited, the loop would take a whole CPU (~1.0).
    assert.ok(rate > 0.25 && rate < 0.65, `rate ${rate.toFixed(2)}`);
    // And the kernel says why: throttled period after period (3 s are
    // 30 periods of 100 ms).
    const stat = parseKeyed(readFileSync(fileOf(cg.dirs, 'cpu.stat'),
      'utf8'));
    assert.ok(stat.get('nr_throttled')! > 10,
      `throttled in ${stat.get('nr_throttled')} periods`);
  });

  test('cpu: shares 1:3 split a shared core about 1:3', async (t) => {
    const cpu = String(onlineCpus().at(-1));
    const loop = 'echo go; while :; do :; done';
    const one = await runIn(t, { cpu: { shares: 256, cpus: cpu } }, loop);
    const three = await runIn(t, { cpu: { shares: 768, cpus: cpu } }, loop);
    await Promise.all([one.p.printed(/go/), three.p.printed(/go/)]);
    await sleep(300);
    const [a, b] = await Promise.all([cpuRate(one.p.pid, 3000),
      cpuRate(three.p.pid, 3000)]);
    // Equal weights would split it 1:1.
    const ratio = b / a;
    assert.ok(ratio > 2 && ratio < 4.5,
      `shares 256: ${a.toFixed(2)}, 768: ${b.toFixed(2)}, ratio ${ratio}`);
  });

  test('cpuset: --cpuset-cpus 0 shows only CPU 0 inside', async (t) => {
    const c = await startIn(t, { cpu: { cpus: '0' } },
      ['grep', 'Cpus_allowed_list', '/proc/self/status']);
    assert.equal((await c.wait()).code, 0, c.stderr());
    // Without it: every online CPU (0-1 here).
    assert.match(c.stdout(), /^Cpus_allowed_list:\s+0\n$/);
  });

  test('pids: a fork flood is held at the limit, the host forks', async (t) => {
    // A bounded flood (a real fork bomb would take the host down were
    // the limit missing). The inner shell gives up at the first failed
    // fork; the outer one reports and turns into sleep without forking.
    const flood = 'i=0; while [ $i -lt 100 ]; do sleep 60 & ' +
      'i=$((i+1)); done';
    const c = await startIn(t, { pids: { limit: 32 } }, ['sh', '-c',
      `sh -c '${flood}'; echo spawned; exec sleep 60`]);
    await waitPrinted(c, 'spawned');
    const s = c.cgroup.stats();
    // Unlimited: 101 tasks (100 sleeps and PID 1). Limited: 32 at the
    // failed fork, one less once the inner shell gave up.
    assert.ok(s.pids >= 30 && s.pids <= 32, `pids ${s.pids}`);
    assert.equal(s.pidsLimit, 32);
    assert.match(c.stderr(), /fork|Resource temporarily unavailable/i);
    const events = parseKeyed(readFileSync(fileOf(c.cgroup.dirs,
      'pids.events'), 'utf8'));
    assert.ok(events.get('max')! > 0, 'pids.events max');
    assert.equal(spawnSync('sh', ['-c', 'true & wait']).status, 0);
  });

  test('freezer: pause stops every process, unpause resumes', async (t) => {
    const c = await startIn(t, {}, ['sh', '-c',
      'while :; do :; done & echo go; while :; do :; done']);
    await waitPrinted(c, 'go');
    await sleep(300);
    const procs = c.cgroup.procs();
    assert.equal(procs.length, 2);
    const used = () => procs.reduce((sum, p) => sum + cpuSeconds(p), 0);
    // `docker pause` runs in another process: it finds the cgroup by
    // its path, as final/'s pause does.
    const paused = openCgroup(c.cgroup.path);
    await paused.freeze();
    assert.equal(c.cgroup.state(), 'frozen');
    for (const p of procs) assert.match(processState(p) ?? '-', /^[DS]$/);
    const at = used();
    const cgroupAt = c.cgroup.stats().cpuUsageNs;
    await sleep(1000);
    // Running, the two loops would add about 2 CPU seconds here.
    assert.equal(used(), at, 'CPU time moved while paused');
    assert.equal(c.cgroup.stats().cpuUsageNs, cgroupAt);
    await paused.thaw();
    await sleep(1000);
    // Any progress will do: a loaded host may give the loops little.
    assert.ok(used() > at, `resumed: ${at} -> ${used()}`);
    for (const p of procs) assert.equal(processState(p), 'R');
  });

  test('accounting: a container\'s CPU, memory and pids', async (t) => {
    const c = await startIn(t, {}, ['sh', '-c', [
      "x=$(head -c 24000000 /dev/zero | tr '\\0' a)",
      'i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done',
      'sleep 60 & echo ready; wait'].join('\n')]);
    await waitPrinted(c, 'ready');
    const s = c.cgroup.stats();
    const cpu = cpuSeconds(c.container.pid);
    assert.ok(s.cpuUsageNs / 1e9 >= cpu * 0.8 && s.cpuUsageNs > 2e8,
      `cgroup ${s.cpuUsageNs / 1e9}s vs init ${cpu}s`);
    assert.ok(s.memoryBytes >= 24e6, `memory ${s.memoryBytes}`);
    assert.equal(s.pids, 2);
  });
});
