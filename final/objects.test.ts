// The engine's objects end to end through the CLI, as a user types it:
// images (load, save, import, export, tag, rmi, history, commit),
// networks, volumes, cp, system prune, doctor, version, info. One engine
// (its own root, socket, bridge, subnet, chains and cgroup parent) is
// shared by the tests of this file; everything it made is checked gone
// at the end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync, mkdirSync, readdirSync, readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freeSubnet } from '../chapters/05-network/testnet.ts';
import { cachedRootfs } from '../chapters/01-chroot/rootfs.ts';
import { isMounted } from '../chapters/04-aufs-overlay/overlay.ts';
import { TestEngine } from './testing.ts';
import { needsRoot, REPO, uniqueName } from
  '../support/testing.ts';

const TSX = import.meta.resolve('tsx/esm');
let eng: TestEngine;
let dir = '';
let env: Record<string, string> = {};
const root = () => eng.root;

/** `skiff ARGS...` as a user runs it, with this file's engine. */
const sk = (args: string[], input?: string | Buffer) => eng.sk(args, input);
const ok = (...args: string[]) => eng.ok(...args);
/** A failure must be one line on stderr with the given exit code. */
const fails = (code: number, pattern: RegExp, ...args: string[]) =>
  eng.fails(code, pattern, ...args);

before(() => {
  if (process.getuid?.() !== 0) return;
  eng = new TestEngine('skobj');
  ({ dir, env } = eng);
  // The first daemon seeds busybox; in the slow v2 VM that may take
  // longer than the CLI waits for it, so ask until it answers.
  for (let i = 0; i < 4 && sk(['info']).status !== 0; i++);
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('skiff objects', needsRoot, () => {
  // #region test-fresh-engine
  test('a fresh engine has busybox and runs it', () => {
    const images = ok('images');
    assert.match(images, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/m);
    assert.match(images, /^busybox\s+latest\s+[0-9a-f]{12}\s/m);
    assert.equal(ok('run', '--rm', 'busybox', 'echo', 'hi'), 'hi\n');
  });
  // #endregion

  test('commit keeps changes and deletions; rmi refuses an image in use',
    () => {
      ok('run', '-d', '--name', 'changer', 'busybox', 'sh', '-c',
        'echo hello > /greeting; rm /bin/vi; touch /ready; sleep 600');
      waitFor(() => sk(['cp', 'changer:/ready', '-']).status === 0);
      const id = ok('commit', '-m', 'my change', '-c',
        'CMD ["cat", "/greeting"]', 'changer', 'mine:1').trim();
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      assert.equal(ok('run', '--rm', 'mine:1'), 'hello\n');
      const vi = sk(['run', '--rm', 'mine:1', 'ls', '/bin/vi']);
      assert.notEqual(vi.status, 0, 'the deleted file shows through');
      assert.equal(sk(['run', '--rm', 'busybox', 'ls', '/bin/vi']).status,
        0, 'the base image lost its file');
      const hist = ok('history', 'mine:1').split('\n');
      assert.match(hist[0], /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
      assert.match(hist[1], new RegExp(`^${id.slice(7, 19)} .*my change$`));
      assert.match(hist[2], /^<missing> .*skiff import/);
      fails(1, /conflict: unable to remove "busybox" \(must force\)/,
        'rmi', 'busybox');
      assert.match(ok('images'), /^busybox\s+latest/m);
      // -f untags it; the image stays for the container that uses it
      const base = ok('images', '-q', '--no-trunc', 'busybox').trim();
      assert.equal(ok('rmi', '-f', 'busybox'), 'Untagged: busybox:latest\n');
      assert.match(ok('images'), /^<none>\s+<none>\s/m);
      ok('tag', base, 'busybox');
    });

  test('save writes a docker-archive that load (and skopeo) read', () => {
    ok('save', '-o', 'mine.tar', 'mine:1');
    const skopeo = spawnSync('skopeo', ['inspect',
      `docker-archive:${join(dir, 'mine.tar')}`], { encoding: 'utf8' });
    if (!skopeo.error) {
      assert.equal(skopeo.status, 0, skopeo.stderr);
      assert.equal(JSON.parse(skopeo.stdout).Layers.length, 2);
    }
    const rmi = ok('rmi', 'mine:1');
    assert.match(rmi, /^Untagged: mine:1\nDeleted: sha256:/);
    assert.doesNotMatch(ok('images'), /^mine/m);
    assert.equal(ok('load', '-i', 'mine.tar'), 'Loaded image: mine:1\n');
    assert.equal(ok('run', '--rm', 'mine:1'), 'hello\n');
    ok('rmi', 'mine:1');
    const piped = sk(['load'], readFileSync(join(dir, 'mine.tar')));
    assert.equal(piped.stdout, 'Loaded image: mine:1\n', piped.stderr);
    ok('tag', 'mine:1', 'localhost:5000/team/mine:v2');
    assert.match(ok('images'), /^localhost:5000\/team\/mine\s+v2\s/m);
    assert.equal(ok('run', '--rm', 'localhost:5000/team/mine:v2'),
      'hello\n');
  });

  test('export a container, import it as a one-layer image', () => {
    ok('export', '-o', 'changer.tar', 'changer');
    const names = spawnSync('tar', ['tf', join(dir, 'changer.tar')],
      { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(names.includes('greeting'), 'the change is exported');
    assert.ok(!names.includes('bin/vi'), 'the deleted file is not');
    const id = ok('import', '-c', 'CMD ["cat", "/greeting"]', '-m',
      'flat', 'changer.tar', 'flat:latest').trim();
    assert.match(id, /^sha256:/);
    assert.equal(ok('run', '--rm', 'flat'), 'hello\n');
    const hist = ok('history', '--format', '{{.CreatedBy}}|{{.Comment}}',
      'flat');
    assert.equal(hist, 'skiff import changer.tar|flat\n');
  });

  test('cp both ways, running and stopped, symlinks kept inside', () => {
    writeFileSync(join(dir, 'note.txt'), 'from the host\n');
    mkdirSync(join(dir, 'tree/sub'), { recursive: true });
    writeFileSync(join(dir, 'tree/sub/leaf'), 'leaf\n');
    ok('cp', 'note.txt', 'changer:/tmp/');
    ok('cp', 'tree', 'changer:/tmp/copied');
    ok('cp', 'note.txt', 'changer:/renamed.txt');
    ok('cp', 'changer:/tmp/note.txt', 'back.txt');
    assert.equal(readFileSync(join(dir, 'back.txt'), 'utf8'),
      'from the host\n');
    ok('cp', 'changer:/tmp/copied', 'tree2');
    assert.equal(readFileSync(join(dir, 'tree2/sub/leaf'), 'utf8'),
      'leaf\n');
    ok('cp', 'changer:/renamed.txt', join(dir, 'tree2'));
    assert.ok(existsSync(join(dir, 'tree2/renamed.txt')));
    // A symlink to / in the container (sent as a tar on stdin) leads to
    // the container's root, never the host's.
    mkdirSync(join(dir, 'links'));
    spawnSync('ln', ['-s', '/', join(dir, 'links/up')]);
    const tar = spawnSync('tar', ['-C', join(dir, 'links'), '-cf', '-',
      'up']).stdout;
    assert.equal(sk(['cp', '-', 'changer:/tmp'], tar).status, 0);
    ok('cp', 'changer:/tmp/up/etc/passwd', 'passwd');
    assert.equal(readFileSync(join(dir, 'passwd'), 'utf8'),
      readFileSync(join(cachedRootfs(), 'etc/passwd'), 'utf8'));
    const out = spawnSync(process.execPath, ['--import', TSX,
      join(REPO, 'final/cli.ts'), 'cp', 'changer:/tmp/note.txt', '-'],
    { env, cwd: dir });
    assert.match(spawnSync('tar', ['tf', '-'], { input: out.stdout,
      encoding: 'utf8' }).stdout, /^note.txt$/m);
    ok('stop', '-t', '0', 'changer');
    ok('cp', 'note.txt', 'changer:/stopped.txt');
    ok('cp', 'changer:/stopped.txt', 'stopped.txt');
    assert.equal(readFileSync(join(dir, 'stopped.txt'), 'utf8'),
      'from the host\n');
    ok('start', 'changer');
  });

  test('a stopped container\'s layer: kept, unmounted, mounted again at ' +
    'its next start by a new daemon; orphans dropped', () => {
    ok('run', '--name', 'again', 'busybox', 'sh', '-c', 'echo ran');
    const id = ok('inspect', '--format', '{{.Id}}', 'again').trim();
    process.kill(Number(readFileSync(join(root(), 'daemon.pid'), 'utf8')),
      'SIGTERM');
    waitFor(() => !existsSync(join(dir, 'skiff.sock')));
    const merged = join(root(), 'overlay', id, 'merged');
    assert.ok(!isMounted(merged), 'still mounted after it stopped');
    assert.ok(existsSync(join(root(), 'overlay', id, 'upper')));
    const orphan = join(root(), 'overlay', 'f'.repeat(64));
    mkdirSync(join(orphan, 'upper'), { recursive: true });
    ok('start', 'again');
    assert.equal(ok('wait', 'again'), '0\n');
    assert.equal(ok('logs', 'again'), 'ran\nran\n');
    assert.ok(!existsSync(orphan), 'the orphan layer is still there');
    ok('rm', 'again');
    assert.ok(!existsSync(join(root(), 'overlay', id)), 'layer left');
  });

  test('networks: create, inspect, isolation, rm in use refused', () => {
    const [a, b] = [uniqueName('skna'), uniqueName('sknb')];
    const subnet = freeSubnet();
    ok('network', 'create', '--subnet', subnet, a);
    ok('network', 'create', b);
    const ls = ok('network', 'ls');
    assert.match(ls, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/m);
    assert.match(ls, new RegExp(`^[0-9a-f]{12}\\s+${a}\\s+bridge\\s+local$`,
      'm'));
    ok('run', '-d', '--name', 'ona', '--network', a, 'busybox', 'sleep',
      '600');
    const inspect = JSON.parse(ok('network', 'inspect', a))[0];
    assert.equal(inspect.IPAM.Config[0].Subnet, subnet);
    const ep = Object.values(inspect.Containers)[0] as {
      Name: string; IPv4Address: string };
    assert.equal(ep.Name, 'ona');
    const ip = ep.IPv4Address.split('/')[0];
    // The bridge is the host's link holding the network's gateway.
    const bridge = spawnSync('ip', ['-o', '-4', 'addr', 'show', 'to',
      inspect.IPAM.Config[0].Gateway], { encoding: 'utf8' }).stdout
      .split(/\s+/)[1];
    assert.ok(bridge, 'the gateway\'s link');
    assert.ok(existsSync(`/sys/class/net/${bridge}`), 'bridge on the host');
    const ping = (net: string) => sk(['run', '--rm', '--network', net,
      'busybox', 'ping', '-c', '1', '-W', '1', ip]).status;
    assert.equal(ping(a), 0, 'same network');
    assert.notEqual(ping(b), 0, 'another network reaches it');
    fails(1, /has active endpoints/, 'network', 'rm', a);
    ok('rm', '-f', 'ona');
    assert.equal(ok('network', 'rm', a, b), `${a}\n${b}\n`);
    assert.ok(!existsSync(`/sys/class/net/${bridge}`), 'bridge left');
    fails(125, /invalid CIDR address: x\/99/, 'network', 'create',
      '--subnet', 'x/99', 'bad');
    fails(1, /not found/, 'network', 'rm', a);
  });

  test('named volumes outlive containers; system prune', () => {
    assert.equal(ok('volume', 'create', 'keep'), 'keep\n');
    ok('run', '--name', 'writer', '-v', 'keep:/data', 'busybox', 'sh',
      '-c', 'echo kept > /data/f');
    fails(1, /volume is in use/, 'volume', 'rm', 'keep');
    ok('rm', 'writer');
    assert.equal(ok('run', '--rm', '-v', 'keep:/data', 'busybox', 'cat',
      '/data/f'), 'kept\n');
    assert.match(ok('volume', 'ls'), /^local\s+keep$/m);
    const vol = JSON.parse(ok('volume', 'inspect', 'keep'))[0];
    assert.equal(readFileSync(join(vol.Mountpoint, 'f'), 'utf8'), 'kept\n');
    ok('run', 'busybox', 'true'); // a stopped container for prune
    const net = uniqueName('skpr');
    ok('network', 'create', net);
    const pruned = ok('system', 'prune', '-f');
    assert.match(pruned, /^Deleted Containers:\n[0-9a-f]{64}\n/m);
    assert.match(pruned, new RegExp(`^Deleted Networks:\\n${net}$`, 'm'));
    assert.equal(ok('volume', 'rm', 'keep'), 'keep\n');
    assert.equal(ok('volume', 'ls', '-q'), '');
  });

  test('bad input: one line, docker\'s exit code, nothing left', () => {
    const tmp = () => readdirSync(join(root(), 'tmp'));
    fails(125, /No such image: nosuch/, 'tag', 'nosuch', 'x');
    fails(125, /invalid reference format/, 'tag', 'busybox', 'BAD');
    fails(125, /open nosuch.tar: no such file/, 'import', 'nosuch.tar');
    writeFileSync(join(dir, 'junk.tar'), 'not a tar at all\n'.repeat(64));
    fails(125, /./, 'load', '-i', 'junk.tar');
    fails(125, /./, 'import', 'junk.tar', 'junk');
    fails(1, /No such image/, 'rmi', 'nosuch');
    fails(125, /No such container: nosuch/, 'cp', 'nosuch:/x', '.');
    fails(125, /Could not find the file \/nope/, 'cp', 'changer:/nope',
      '.');
    fails(125, /No such container/, 'commit', 'nosuch');
    // dockerd: "dockerfile parse error line 1: unknown instruction: FROB"
    fails(125, /dockerfile parse error .*unknown instruction: FROB$/m,
      'commit', '-c', 'FROB x', 'changer');
    const before = ok('images', '-aq');
    fails(125, /invalid reference format/, 'commit', 'changer', 'BAD');
    assert.equal(ok('images', '-aq'), before, 'commit left an image');
    fails(125, /requires at least 1 argument/, 'save');
    assert.deepEqual(tmp(), [], 'scratch files left in the store');
    assert.doesNotMatch(ok('images'), /junk/);
  });

  test('doctor, version and info describe the host and engine', () => {
    const r = sk(['doctor']);
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
    for (const head of ['Kernel:', 'Namespaces:', 'Control groups:',
      'Storage:', 'Network:', 'Users:', 'Security:']) {
      assert.ok(r.stdout.includes(`\n${head}\n`) ||
        r.stdout.startsWith(`${head}\n`), head);
    }
    assert.match(r.stdout, /^ {2}ok {4}pid namespace$/m);
    assert.match(r.stdout, /cgroup v[12]/);
    assert.match(r.stdout, /overlayfs/);
    assert.match(r.stdout, /IPv4 forwarding/);
    assert.match(r.stdout, /subuid/);
    assert.match(ok('version'), /^Server: skiff\n Engine:\n {2}Version:/m);
    assert.match(ok('info'), /^ Images: \d+$/m);
  });
});

/** Polls `check` every 100 ms for up to 10 s. */
function waitFor(check: () => boolean): void {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    spawnSync('sleep', ['0.1']);
  }
  assert.fail('timed out');
}
