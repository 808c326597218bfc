// /sys/fs/cgroup inside the container: read-only, and the cgroup
// namespace's view (the container's own cgroup as the root), on a v1,
// hybrid or pure v2 host, with and without a user namespace.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { needsRoot } from '../../support/testing.ts';
import { cgroupLayout } from './cgroupfs.ts';
import { joinCgroup, makeCgroup, run, specWith } from './harness.ts';
import type { NamespaceType } from './spec.ts';
import type { StartStep } from './steps.ts';

const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
// The hierarchy makeCgroup uses: the container's cgroup is made there.
const where = v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids';

/** Runs `script` in a container placed in a fresh cgroup of ours. */
async function inOwnCgroup(t: TestContext, script: string,
  off: NamespaceType[] = []) {
  const cg = makeCgroup(t);
  const attach: StartStep = {
    name: 'test-cgroup', attach: (c) => joinCgroup(cg.procs, c.pid),
  };
  // A child cgroup the host makes in ours: inside, at the root.
  const marker = join(dirname(cg.procs), 'marker-from-host');
  mkdirSync(marker);
  try {
    const spec = specWith(['sh', '-c', script], off);
    return { ...await run(spec, { steps: [attach] }), cg };
  } finally {
    rmdirSync(marker);
  }
}

describe('chapter 02: /sys/fs/cgroup', needsRoot, () => {
  for (const off of [[], ['user']] as NamespaceType[][]) {
    const what = off.length ? 'without a user namespace' : 'as mapped root';
    test(`read-only, the container's cgroup as root (${what})`,
      async (t) => {
        const r = await inOwnCgroup(t, `
          mkdir ${where}/made 2>&1; echo "status $?"
          grep -c ' - cgroup' /proc/self/mountinfo
          cat /proc/self/cgroup
          echo "procs $(cat ${where}/cgroup.procs | tr '\\n' ' ')"
          ls ${where}`, off);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Read-only file system\nstatus 1\n/);
        // One mount per hierarchy the host has (one on pure v2).
        const layout = cgroupLayout();
        const count = layout.unified ? 1 : layout.hierarchies.length;
        assert.match(r.stdout, new RegExp(`status 1\\n${count}\\n`));
        // /proc/self/cgroup: "/" in every hierarchy, "0::/" on v2.
        const lines = r.stdout.split('\n').filter((l) => /^\d+:/.test(l));
        assert.ok(lines.length > 0);
        for (const l of lines) assert.match(l, /^\d+:[^:]*:\/$/);
        // The root shows our cgroup (its child the host made), not the
        // host's root (which lists our cgroup's name), and in it only
        // the container's processes: its PID 1 and the shell's pipe.
        assert.match(r.stdout, /^marker-from-host$/m);
        assert.doesNotMatch(r.stdout, new RegExp(`^${r.cg.name}$`, 'm'));
        assert.match(r.stdout, /^procs 1 (\d\d? )*$/m);
      });
  }

  test('no cgroup namespace: no cgroup filesystem mounted', async (t) => {
    const r = await inOwnCgroup(t,
      'grep -c " - cgroup" /proc/self/mountinfo; ls /sys/fs/cgroup | wc -l',
      ['cgroup']);
    assert.equal(r.stdout, '0\n0\n', r.stderr);
  });
});

describe('cgroupLayout', () => {
  const line = (id: number, point: string, type: string, opts: string) =>
    `${id} 1 0:${id} / ${point} rw,relatime - ${type} ${type} ${opts}`;
  const ctl = new Set(['cpu', 'cpuacct', 'memory', 'pids']);

  test('pure v2: one cgroup2 at /sys/fs/cgroup', () => {
    const l = cgroupLayout(line(30, '/sys/fs/cgroup', 'cgroup2',
      'rw,nsdelegate'), ctl);
    assert.deepEqual(l, { unified: true, hierarchies: [], links: [] });
  });

  test('v1 hybrid: hierarchies, names and links', () => {
    const l = cgroupLayout([
      line(20, '/sys/fs/cgroup', 'tmpfs', 'rw,mode=755'),
      line(21, '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
      line(22, '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory,xattr'),
      line(23, '/sys/fs/cgroup/systemd', 'cgroup',
        'rw,xattr,name=systemd'),
      line(24, '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
      line(25, '/tmp/elsewhere', 'cgroup', 'rw,pids'),
    ].join('\n'), ctl);
    assert.equal(l.unified, false);
    assert.deepEqual(l.hierarchies.map((h) => [h.name, h.type, h.data]), [
      ['cpu,cpuacct', 'cgroup', 'cpu,cpuacct'],
      ['memory', 'cgroup', 'memory'],
      ['systemd', 'cgroup', 'none,name=systemd'],
      ['unified', 'cgroup2', null],
    ]);
    assert.deepEqual(l.links, [
      { name: 'cpu', target: 'cpu,cpuacct' },
      { name: 'cpuacct', target: 'cpu,cpuacct' },
    ]);
  });
});
