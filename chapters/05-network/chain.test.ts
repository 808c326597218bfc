// The demos are a chain: chapter 05's container is chapter 04's (an
// image, overlaid), which is chapter 03's (in a cgroup, with limits),
// plus a network card. Run as a reader runs it, and looked at from the
// host while it runs: each of the three steps must be there.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { detectHierarchies } from '../03-cgroups/cgroups/mode.ts';
import { needsRoot, REPO, uniqueName } from '../../support/testing.ts';
import type { NetConfig } from './networks.ts';
import {
  configEnv, demoHost, type DemoHost, dropConfig, execIn, testConfig,
} from './testnet.ts';

/** The host pid of the one process whose argv is exactly `argv`. */
function pidOf(argv: string[]): number {
  const want = `${argv.join('\0')}\0`;
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8') === want;
      } catch {
        return false; // gone
      }
    });
  assert.equal(pids.length, 1, `processes running ${argv.join(' ')}`);
  return Number(pids[0]);
}

/** The cgroup of `pid` that holds its memory limit, and that limit. */
function memoryCgroup(pid: number): { path: string; limit: string } {
  const h = detectHierarchies();
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  if (h.mode === 'unified') {
    const path = lines.find((l) => l.startsWith('0::'))!.slice(3);
    return { path, limit: readFileSync(join(h.unified!, path,
      'memory.max'), 'utf8').trim() };
  }
  const line = lines.find((l) => l.split(':')[1]?.split(',')
    .includes('memory'));
  assert.ok(line, `no memory cgroup in ${lines.join(' | ')}`);
  const path = line.split(':').slice(2).join(':');
  return { path, limit: readFileSync(join(h.v1.get('memory')!, path,
    'memory.limit_in_bytes'), 'utf8').trim() };
}

/** The filesystem type and options of the root mount `pid` sees. */
function rootMount(pid: number): { type: string; options: string } {
  const line = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')
    .filter((l) => l.split(' ')[4] === '/').at(-1); // the top one
  assert.ok(line, `no / in the mountinfo of ${pid}`);
  const [type, , options] = line.split(' - ')[1].split(' ');
  return { type, options };
}

function vethsOn(bridge: string): string[] {
  return execFileSync('ip', ['-o', 'link', 'show', 'master', bridge],
    { encoding: 'utf8' }).split('\n').filter((l) => l.trim());
}

describe('chapter 05: the chain of demos', needsRoot, () => {
  let cfg: NetConfig;
  let demo: DemoHost;
  before(async () => {
    demo = await demoHost();
    cfg = testConfig();
  });
  after(async () => {
    if (cfg) dropConfig(cfg);
    await demo?.drop();
  });

  test('run.ts: in the cgroup of 03, on the overlay of 04, with a ' +
    'network of 05', { timeout: 120_000 }, async () => {
    const marker = uniqueName('chain');
    // sh waits on its stdin: the container runs until we close it.
    const script = `echo ready; read x; echo ${marker} done`;
    const p = spawn(process.execPath, ['--import', 'tsx',
      'chapters/05-network/run.ts', ...demo.args(['--memory', '64m'],
        ['sh', '-c', script])],
    { cwd: REPO, env: configEnv(cfg), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((res) => p.on('exit', res));
    try {
      await new Promise<void>((res, rej) => {
        p.stdout.on('data', () => { if (/ready/.test(out)) res(); });
        p.on('exit', () => rej(new Error(`demo exited: ${out}`)));
      });
      const pid = pidOf(['sh', '-c', script]);

      const cg = memoryCgroup(pid);
      assert.match(cg.path, new RegExp(`^${demo.cgroupParent}/[^/]+$`),
        'the container is not in a cgroup under --cgroup-parent');
      assert.equal(cg.limit, String(64 * 2 ** 20), '--memory 64m');

      const root = rootMount(pid);
      assert.equal(root.type, 'overlay', 'the root is not an overlay');
      assert.match(root.options, new RegExp(
        `upperdir=${join(demo.root, 'overlay')}/[^/,]+/upper`),
      'the upper layer is not in the store');

      const eth0 = execIn({ pid }, ['ip', '-4', '-o', 'addr', 'show',
        'dev', 'eth0']);
      assert.match(eth0, /inet 10\.\d+\.\d+\.\d+\//, 'eth0 has no address');
      assert.equal(vethsOn(cfg.defaultBridge).length, 1,
        'no veth on the bridge');
    } finally {
      p.stdin.end();
    }
    assert.equal(await exited, 0, out);
    assert.match(out, new RegExp(`${marker} done`));
    // Each step took back what it made (the bridge stays, as docker0).
    assert.deepEqual(vethsOn(cfg.defaultBridge), []);
    assert.doesNotMatch(execFileSync('iptables-save', [],
      { encoding: 'utf8' }), new RegExp(`${cfg.chainPrefix}:ctr:`));
    assert.deepEqual(readdirSync(join(demo.root, 'overlay')), []);
    const h = detectHierarchies();
    const top = h.mode === 'unified' ? h.unified! : h.v1.get('memory')!;
    const parent = join(top, demo.cgroupParent);
    assert.deepEqual(existsSync(parent) ? readdirSync(parent,
      { withFileTypes: true }).filter((e) => e.isDirectory()) : [], []);
  });
});
