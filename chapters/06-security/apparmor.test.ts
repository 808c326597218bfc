// AppArmor for real: load skiff-default, exec a command under it, and
// watch the kernel deny what the profile denies. Needs a kernel with
// AppArmor on: ../shared/tools/vm-run's has (npm run test:v2).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  REPO, needsRoot, tempDir, type Ran,
} from '../../support/testing.ts';
import {
  DEFAULT_APPARMOR_PROFILE, applyApparmor, checkApparmorProfile,
  ensureDefaultProfile, profileLoaded,
} from './apparmor.ts';
import { apparmorEnabled, apparmorNeedsSecurityfs } from './lsm.ts';

function moduleOn(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8')
      .trim() === 'Y';
  } catch {
    return false;
  }
}

const skip = !moduleOn()
  ? 'AppArmor is not on in this kernel (run it in ../shared/tools/vm-run)'
  : needsRoot.skip;
const SECURITY = '/sys/kernel/security';
let mounted = false;

// systemd mounts securityfs at boot; a bare init (the VM's) does not, and
// without it no profile can be loaded.
before(() => {
  if (skip || !apparmorNeedsSecurityfs()) return;
  const r = spawnSync('mount', ['-t', 'securityfs', 'securityfs', SECURITY],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  mounted = true;
});
after(() => {
  if (mounted) spawnSync('umount', [SECURITY]);
});

/** One shell script, each line a probe that prints name=ok|denied. */
function script(dir: string): string {
  const probe = (name: string, cmd: string) =>
    `if ${cmd} >/dev/null 2>&1; then echo ${name}=ok; ` +
    `else echo ${name}=denied; fi`;
  return [
    'echo "label=$(cat /proc/self/attr/current)"',
    // A mount in a mount namespace of its own: harmless either way.
    probe('mount', `busybox unshare -m sh -c 'mount -t tmpfs none ${dir} ` +
      `&& umount ${dir}'`),
    // Reads that change nothing: securityfs, the kernel's memory image.
    probe('securityfs', `cat ${SECURITY}/lsm`),
    probe('kcore', 'head -c 1 /proc/kcore'),
    // A sysctl write, in a network namespace of its own.
    probe('sysctl', 'busybox unshare -n sh -c ' +
      '"echo 1 > /proc/sys/net/ipv4/ip_forward"'),
    probe('write', `echo x > ${dir}/file`),
  ].join('\n');
}

function results(out: string): Record<string, string> {
  return Object.fromEntries(out.trim().split('\n').map((l) => {
    const at = l.indexOf('=');
    return [l.slice(0, at), l.slice(at + 1)];
  }));
}

test('ensureDefaultProfile loads skiff-default', { skip }, () => {
  assert.equal(apparmorEnabled(), true);
  ensureDefaultProfile();
  assert.equal(profileLoaded(DEFAULT_APPARMOR_PROFILE), true);
  checkApparmorProfile(DEFAULT_APPARMOR_PROFILE);
  checkApparmorProfile('unconfined');
  assert.throws(() => checkApparmorProfile('skiff-no-such'), {
    message: 'apparmor profile "skiff-no-such" is not loaded ' +
      '(load it with apparmor_parser -r FILE)',
  });
  // The kernel refuses a profile it does not hold.
  assert.throws(() => applyApparmor('skiff-no-such'),
    /^Error: apparmor: set exec profile skiff-no-such: ENOENT$/);
});

/**
 * Runs the probe (confine at exec, then busybox sh -c SCRIPT) as a
 * container runs: in a mount namespace of its own (the probe makes its
 * root the namespace's: see rootAtNamespaceRoot there).
 */
function probe(profile: string, script: string): Ran {
  const r = spawnSync('unshare', ['-m', process.execPath, '--import', 'tsx',
    'chapters/06-security/apparmor-probe.ts', profile, script],
  { cwd: REPO, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout,
    stderr: r.stderr };
}

test('a command exec\'d under skiff-default is confined by it',
  { skip, timeout: 300_000 }, (t) => {
    ensureDefaultProfile();
    const dir = tempDir(t);
    // The control: the same script, unconfined, does all of it.
    const control = probe('unconfined', script(dir));
    assert.deepEqual(results(control.stdout), {
      label: 'unconfined', mount: 'ok', securityfs: 'ok', kcore: 'ok',
      sysctl: 'ok', write: 'ok',
    }, control.stderr);
    const r = probe(DEFAULT_APPARMOR_PROFILE, script(dir));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(results(r.stdout), {
      label: 'skiff-default (enforce)', mount: 'denied',
      securityfs: 'denied', kcore: 'denied', sysctl: 'denied', write: 'ok',
    }, r.stderr);
  });
