// A container started with default options is confined as docker's
// are (issue 14): what root inside could do to the host without the
// capabilities, the seccomp filter, no_new_privs and the read-only
// kernel interfaces, tried from inside, with --privileged and friends
// as the controls that show each probe can succeed. Every probe is
// harmless where it succeeds (see chapters/06-security/probe.c).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync,
  statSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compileStatic } from '../chapters/02-namespaces/build.ts';
import { needsRoot, REPO } from '../support/testing.ts';
import { TestEngine } from './testing.ts';

const PODMAN_PROFILE = '/usr/share/containers/seccomp.json';
/** Docker's 14 capabilities as /proc/PID/status shows them. */
const DOCKER_CAPS = '00000000a80425fb';
let eng: TestEngine;
let probes = '';

/**
 * A disk of the host's for mknod to reach: a loop device over a file
 * of the test's own (the real root disk may be closed even to the
 * host's root, as in some sandboxes). "MAJ:MIN".
 */
let loop = '';
function hostDisk(): string {
  const rdev = statSync(loop).rdev;
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
  return `${(rdev >>> 8) & 0xfff}:${minor}`;
}

/** Runs the probe in a fresh container; returns name -> verdict. */
function probe(flags: string[], names: string[]): Record<string, string> {
  const out = eng.ok('run', '--rm', '-v', `${probes}:/probe:ro`, ...flags,
    'busybox', '/probe/probe', ...names);
  return Object.fromEntries(out.trim().split('\n')
    .map((l) => l.split(' ') as [string, string]));
}

/** Fields of /proc/self/status inside a container run with `flags`. */
function status(flags: string[], cmd = ['cat', '/proc/self/status'])
  : Record<string, string> {
  const out = eng.ok('run', '--rm', ...flags, 'busybox', ...cmd);
  return Object.fromEntries(out.split('\n').filter(Boolean)
    .map((l) => l.split(/:\s+/) as [string, string]));
}

/** A shell line in a default container: its exit status. */
function sh(line: string, flags: string[] = []): number | null {
  return eng.sk(['run', '--rm', ...flags, 'busybox', 'sh', '-c',
    `${line} 2>/dev/null`]).status;
}

before(() => {
  if (process.getuid?.() !== 0) return;
  eng = new TestEngine('sksec');
  // Beside the engine's state: a /tmp may be mounted nosuid (the VM's
  // is), and the setuid probe must stay setuid.
  probes = mkdtempSync(join(eng.dir, 'probe-'));
  chmodSync(probes, 0o755);
  const bin = compileStatic('probe.c', join(REPO, 'chapters/06-security'));
  copyFileSync(bin, join(probes, 'probe'));
  copyFileSync(bin, join(probes, 'probe-suid'));
  chmodSync(join(probes, 'probe'), 0o755);
  chmodSync(join(probes, 'probe-suid'), 0o4755); // setuid root
  writeFileSync(join(probes, 'disk.img'), Buffer.alloc(1 << 20));
  loop = execFileSync('losetup', ['-f', '--show', join(probes, 'disk.img')],
    { encoding: 'utf8' }).trim();
  eng.ok('run', '--rm', 'busybox', 'true'); // starts the daemon
});

after(() => {
  if (!eng) return;
  if (loop) spawnSync('losetup', ['-d', loop]);
  rmSync(probes, { recursive: true, force: true });
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

const ESCAPES = ['keyctl', 'open_by_handle_at', 'mount', 'unshare',
  'settimeofday', 'syslog', 'bpf', 'perf_event_open', 'swapon',
  'init_module', 'ptrace', 'personality'];

describe('a default container is confined', needsRoot, () => {
  test('docker\'s 14 capabilities, a seccomp filter', () => {
    const s = status([]);
    for (const set of ['CapPrm', 'CapEff', 'CapBnd']) {
      assert.equal(s[set], DOCKER_CAPS, set);
    }
    assert.equal(s.CapInh, '0000000000000000');
    assert.equal(s.CapAmb, '0000000000000000');
    assert.equal(s.Seccomp, '2');
    assert.equal(s.NoNewPrivs, '0');
  });

  test('each way to the host fails from inside', () => {
    const got = probe([], [...ESCAPES, `mknod=${hostDisk()}`]);
    for (const name of [...ESCAPES, 'mknod']) {
      assert.match(got[name], /^E(PERM|ACCES)$/, `${name}: ${got[name]}`);
    }
  });

  test('the kernel\'s interfaces stay read-only and masked', () => {
    const tries = [
      'mount -o remount,rw /proc/sys',
      'mount -o remount,rw /sys',
      'umount /proc/kcore',
      'umount /proc/sys',
      // The same value back: harmless even if it were let through.
      'cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern',
      'mkdir /sys/fs/cgroup/skiff-escape',
      'mkdir -p /tmp/c && mount -t cgroup -o memory cgroup /tmp/c',
      'mkdir -p /tmp/c && mount -t cgroup2 none /tmp/c',
      'mkdir -p /tmp/d && mount -t devtmpfs none /tmp/d',
      'mkdir -p /tmp/d && mount -t debugfs none /tmp/d',
      'mkdir -p /tmp/b && mount -t binfmt_misc none /tmp/b',
      // Masked: a read gives nothing (or it fails where there is none).
      '[ "$(head -c1 /proc/kcore | wc -c)" -gt 0 ]',
    ];
    for (const line of tries) assert.notEqual(sh(line), 0, line);
  });
});

describe('the flags that widen it', needsRoot, () => {
  test('--privileged: every capability, no filter (the controls)', () => {
    const s = status(['--privileged']);
    assert.equal(s.Seccomp, '0');
    // Every capability the engine has (a sandbox may withhold some).
    const own = /CapBnd:\s+(\w+)/.exec(readFileSync('/proc/self/status',
      'utf8'))?.[1];
    assert.equal(s.CapEff, own);
    const got = probe(['--privileged'], ['keyctl', 'open_by_handle_at',
      'mount', 'settimeofday', 'syslog', `mknod=${hostDisk()}`]);
    for (const [name, verdict] of Object.entries(got)) {
      assert.equal(verdict, 'ok', name);
    }
    // Opened for appending, nothing written (and it is the uts ns's).
    const open = ': >> /proc/sys/kernel/hostname';
    assert.equal(sh(open, ['--privileged']), 0, '/proc/sys writable');
    assert.notEqual(sh(open), 0, '/proc/sys read-only by default');
  });

  test('--cap-add SYS_ADMIN: mount works, the filter still bites', () => {
    const got = probe(['--cap-add', 'sys_admin'],
      ['mount', 'unshare', 'keyctl', 'open_by_handle_at']);
    assert.deepEqual(got, { mount: 'ok', unshare: 'ok', keyctl: 'EPERM',
      open_by_handle_at: 'EPERM' });
  });

  test('--cap-drop ALL --cap-add CHOWN, any case, CAP_ optional', () => {
    const s = status(['--cap-drop', 'ALL', '--cap-add', 'CAP_chown']);
    assert.equal(s.CapEff, '0000000000000001');
    assert.equal(s.CapBnd, '0000000000000001');
    const net = status(['--cap-drop', 'net_raw']);
    assert.equal(BigInt(`0x${net.CapEff}`) & (1n << 13n), 0n);
  });

  test('no-new-privileges: a setuid binary gains nothing', () => {
    const run = (flags: string[]) => eng.ok('run', '--rm', '-u', '1000',
      '-v', `${probes}:/probe:ro`, ...flags, 'busybox',
      '/probe/probe-suid', 'euid').trim();
    assert.equal(run([]), 'euid 0');
    assert.equal(run(['--security-opt', 'no-new-privileges']), 'euid 1000');
    assert.equal(status(['--security-opt', 'no-new-privileges=true'])
      .NoNewPrivs, '1');
  });

  test('seccomp=unconfined; a profile of podman\'s', (t) => {
    assert.equal(status(['--security-opt', 'seccomp=unconfined']).Seccomp,
      '0');
    assert.deepEqual(probe(['--security-opt', 'seccomp=unconfined'],
      ['keyctl']), { keyctl: 'ok' });
    if (!existsSync(PODMAN_PROFILE)) {
      t.skip(`${PODMAN_PROFILE} absent (golang-github-containers-common)`);
      return;
    }
    const flags = ['--security-opt', `seccomp=${PODMAN_PROFILE}`];
    assert.equal(status(flags).Seccomp, '2');
    // podman's profile lets keyctl through, unlike docker's and ours.
    assert.deepEqual(probe(flags, ['open_by_handle_at', 'bpf']),
      { open_by_handle_at: 'EPERM', bpf: 'EPERM' });
  });

  test('exec: the container\'s privileges; exec --privileged', () => {
    const id = eng.ok('run', '-d', 'busybox', 'sleep', '60').trim();
    try {
      const fields = (...args: string[]) => Object.fromEntries(
        eng.ok('exec', ...args, id, 'cat', '/proc/self/status').split('\n')
          .filter(Boolean).map((l) => l.split(/:\s+/)));
      const plain = fields();
      assert.equal(plain.CapEff, DOCKER_CAPS);
      assert.equal(plain.Seccomp, '2');
      const wide = fields('--privileged');
      assert.notEqual(wide.CapEff, DOCKER_CAPS);
      assert.equal(wide.Seccomp, '2');
    } finally {
      eng.sk(['rm', '-f', id]);
    }
  });
});

describe('bad security input', needsRoot, () => {
  test('one line, exit 125, nothing created', () => {
    const bad = join(probes, 'bad.json');
    writeFileSync(bad, '{"defaultAction": "SCMP_ACT_NOPE"}');
    const garbled = join(probes, 'garbled.json');
    writeFileSync(garbled, '{"defaultAction": ');
    const before = eng.ok('ps', '-aq');
    const cases: [RegExp, string[]][] = [
      [/unknown capability: "CAP_FOO"/, ['--cap-add', 'foo']],
      [/unknown capability: "CAP_BAR"/, ['--cap-drop', 'bar']],
      [/opening seccomp profile .*no such file/,
        ['--security-opt', 'seccomp=/nonexistent.json']],
      [/seccomp profile .*json/i, ['--security-opt', `seccomp=${garbled}`]],
      [/SCMP_ACT_NOPE/, ['--security-opt', `seccomp=${bad}`]],
      [/invalid --security-opt 2: "bogus=1"/,
        ['--security-opt', 'bogus=1']],
      [/invalid --security-opt 1: "bogus"/, ['--security-opt', 'bogus']],
      [/apparmor/i, ['--security-opt', 'apparmor=no-such-profile']],
      [/selinux/i, ['--security-opt', 'label=type:container_t']],
    ];
    for (const [pattern, flags] of cases) {
      eng.fails(125, pattern, 'run', '--rm', ...flags, 'busybox', 'true');
    }
    assert.equal(eng.ok('ps', '-aq'), before, 'no container created');
  });
});

describe('the docker CLI\'s flags', needsRoot, () => {
  const DOCKER = spawnSync('sh', ['-c', 'command -v docker'],
    { encoding: 'utf8' }).stdout.trim();
  const docker = (...args: string[]) => {
    const r = spawnSync(DOCKER, args, { encoding: 'utf8', env: {
      ...process.env, DOCKER_HOST: `unix://${eng.env.SKIFF_SOCK}` } });
    assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  test('cap-add, cap-drop, privileged, security-opt', (t) => {
    if (!DOCKER) {
      t.skip('no docker CLI on PATH');
      return;
    }
    const eff = (...flags: string[]) => /CapEff:\s+(\w+)/.exec(docker('run',
      '--rm', ...flags, 'busybox', 'cat', '/proc/self/status'))?.[1];
    assert.equal(eff(), DOCKER_CAPS);
    assert.equal(eff('--cap-drop', 'ALL', '--cap-add', 'CHOWN'),
      '0000000000000001');
    assert.notEqual(eff('--privileged'), DOCKER_CAPS);
    assert.match(docker('run', '--rm', '--security-opt',
      'seccomp=unconfined', 'busybox', 'grep', 'Seccomp:',
      '/proc/self/status'), /Seccomp:\s+0/);
    const id = docker('create', '--cap-add', 'NET_ADMIN', '--security-opt',
      'no-new-privileges', 'busybox', 'true').trim();
    const hc = JSON.parse(docker('inspect', id))[0].HostConfig;
    docker('rm', id);
    // Kept as the client sent it (docker CLI 28 adds the CAP_ prefix).
    assert.match(hc.CapAdd.join(), /^(CAP_)?NET_ADMIN$/);
    assert.deepEqual(hc.SecurityOpt, ['no-new-privileges']);
  });
});
