// docker run's resource flags, and what bad input gets: one line, 125,
// and no cgroup left behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  needsRoot, REPO, runTs, uniqueName,
} from '../../support/testing.ts';
import { cachedRootfs } from '../01-chroot/rootfs.ts';
import { sharesToWeight } from './controllers/cpu.ts';
import { ruleToString, DEFAULT_DEVICE_RULES } from './controllers/devices.ts';
import { detectHierarchies } from './cgroups/mode.ts';
import {
  parseCpus, parseCpuset, parseResourceFlags,
} from './flags.ts';
import { dropTestParent, TEST_PARENT } from './testing.ts';

const RUN = 'chapters/03-cgroups/run.ts';
/** The demo's flag for a cgroup parent of this file's own. */
const PARENT = ['--cgroup-parent', TEST_PARENT];
// Starting node and tsx takes a minute in an emulated VM on a busy host.
const SLOW = { timeout: 300_000 };

describe('chapter 03: resource flags', () => {
  test('--cpus becomes CFS quota per period', () => {
    assert.deepEqual(parseCpus('0.5', [0, 1]),
      { quota: 50_000, period: 100_000 });
    assert.deepEqual(parseCpus('2', [0, 1]),
      { quota: 200_000, period: 100_000 });
    assert.throws(() => parseCpus('-1', [0, 1]), /above 0/);
    assert.throws(() => parseCpus('3', [0, 1]), /has 2 CPUs/);
  });

  test('--cpuset-cpus is checked against the online CPUs', () => {
    assert.equal(parseCpuset('0-1', [0, 1]), '0-1');
    assert.throws(() => parseCpuset('0,7', [0, 1]),
      /no CPU 7 \(online: 0-1\)/);
    assert.throws(() => parseCpuset('1-0', [0, 1]), /CPU list/);
  });

  test('shares map onto v2 weights as runc maps them', () => {
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(1024), 39);
    assert.equal(sharesToWeight(262144), 10000);
  });

  test('a command line becomes OCI resources', () => {
    const { resources, rest } = parseResourceFlags(['--memory', '64m',
      '--cpus=0.5', '--pids-limit', '64', '--cpu-shares', '512', 'sh']);
    assert.deepEqual(resources, {
      memory: { limit: 64 * 2 ** 20 },
      cpu: { quota: 50_000, period: 100_000, shares: 512 },
      pids: { limit: 64 },
    });
    assert.deepEqual(rest, ['sh']);
    assert.throws(() => parseResourceFlags(['--memory-swap', '1g']),
      /needs --memory/);
    const bad: [string, string, RegExp][] = [
      ['--pids-limit', 'many', /for --pids-limit: expected an integer/],
      ['--pids-limit', '8', /for --pids-limit: the minimum is 16/],
      ['--memory', '8m', /for --memory: the minimum is 16m/],
      ['--device-cgroup-rule', 'b 7', /expected TYPE MAJOR:MINOR ACCESS/],
    ];
    for (const [flag, value, message] of bad) {
      assert.throws(() => parseResourceFlags([flag, value]), message);
    }
  });

  test('--device-cgroup-rule adds to docker\'s default rules', () => {
    const { resources } = parseResourceFlags(['--device-cgroup-rule',
      'b 7:* rw', 'sh']);
    assert.deepEqual(resources.devices?.slice(0, -1), DEFAULT_DEVICE_RULES);
    assert.equal(ruleToString(resources.devices!.at(-1)!), 'b 7:* rw');
  });

  test('docker\'s default device rules in v1 syntax', () => {
    assert.deepEqual(DEFAULT_DEVICE_RULES.slice(0, 4).map(ruleToString),
      ['a *:* rwm', 'c *:* m', 'b *:* m', 'c 1:3 rwm']);
  });
});

/** Names under the test's parent directory in every hierarchy. */
function skiffCgroups(): string[] {
  const h = detectHierarchies();
  const roots = h.mode === 'unified' ? [h.unified!] : [...h.v1.values()];
  return roots.flatMap((root) => subdirs(join(root, TEST_PARENT))
    .map((name) => join(root, TEST_PARENT, name))).sort();
}

/** The cgroups directly under `dir` (none if it does not exist). */
function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory()).map((d) => d.name);
}

describe('chapter 03: bad input to the demo', needsRoot, () => {
  after(dropTestParent);
  const cases: [string[], RegExp][] = [
    [['--memory', '10x'], /^skiff: invalid argument "10x" for --memory: /],
    [['--cpus', '-1'], /^skiff: invalid argument "-1" for --cpus: /],
    [['--cpuset-cpus', '4095'],
      /^skiff: .* for --cpuset-cpus: no CPU 4095 /],
    [['--device-read-bps', '/dev/null:1mb'], /not a block device/],
  ];
  for (const [flags, message] of cases) {
    test(`${flags.join(' ')}: one line, exit 125, no cgroup`, () => {
      const before = skiffCgroups();
      const r = runTs(RUN, [...PARENT, ...flags, cachedRootfs(), 'true'],
        SLOW);
      assert.equal(r.status, 125, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
      assert.deepEqual(skiffCgroups(), before);
    });
  }

  test('a controller the host lacks: one line, exit 125, no cgroup',
    (t) => {
      // A private mount namespace where the pids controller is missing:
      // v1, its hierarchy unmounted; v2, the tree is seen from a cgroup
      // whose parent hands no controllers down (as a host that never
      // delegated them would).
      const h = detectHierarchies();
      let setup: string;
      let leftIn: string;
      if (h.mode === 'unified') {
        const top = join(h.unified!, uniqueName('skiff-t'));
        leftIn = join(top, 'bare', TEST_PARENT);
        mkdirSync(join(top, 'bare'), { recursive: true });
        t.after(() => {
          for (const d of [leftIn, join(top, 'bare'), top]) {
            if (existsSync(d)) rmdirSync(d);
          }
        });
        setup = `mount --bind ${top}/bare ${h.unified}`;
      } else {
        leftIn = join(h.v1.get('pids')!, TEST_PARENT);
        setup = `umount ${h.v1.get('pids')}`;
      }
      const before = subdirs(leftIn);
      const r = spawnSync('unshare', ['--mount', '--propagation',
        'private', 'sh', '-c', `${setup} && exec "$@"`, 'sh',
        process.execPath, '--import', 'tsx', resolve(REPO, RUN), ...PARENT,
        '--pids-limit', '64', '--no-user', cachedRootfs(), 'true'],
      { cwd: REPO, encoding: 'utf8', ...SLOW });
      assert.equal(r.status, 125, r.stderr);
      const v = h.mode === 'unified' ? 2 : 1;
      assert.match(r.stderr, new RegExp('^skiff: [^\n]*cgroup: the host ' +
        `has no pids controller \\(cgroup v${v}\\)\n$`));
      assert.deepEqual(subdirs(leftIn), before);
    });

  test('the demo runs with limits and reports them', () => {
    // Without a user namespace, as `docker run` starts containers.
    const r = runTs(RUN, [...PARENT, '--memory', '64m', '--pids-limit', '64',
      '--stats', '--no-user', cachedRootfs(), 'sh', '-c', 'exit 3'], SLOW);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr,
      /limit 64\.0MiB; oom kills 0\n.*pids \d+, limit 64;/);
  });
});
