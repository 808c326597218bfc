// LSM detection, the AppArmor checks and SELinux's options on a host
// that may have neither (this project's own host has neither);
// apparmor.test.ts confines a process for real where AppArmor is on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { needsRoot, runTs, tempDir } from '../../support/testing.ts';
import {
  applyApparmor, checkApparmorProfile, defaultProfileText,
  ensureDefaultProfile,
} from './apparmor.ts';
import { activeLsms, apparmorEnabled, selinuxEnabled } from './lsm.ts';
import {
  applySelinux, checkLabel, mountLabel, parseLabelOpt, parseLabelOpts,
  processLabel,
} from './selinux.ts';

const LSM_FILE = '/sys/kernel/security/lsm';

/** The kernel's own list, from securityfs (mounted in a private
 * mount namespace when the host has not mounted it). */
function securityfsList(): string[] {
  if (existsSync(LSM_FILE)) return readFileSync(LSM_FILE, 'utf8')
    .trim().split(',');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t securityfs ' +
    `securityfs /sys/kernel/security && cat ${LSM_FILE}`],
  { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split(',');
}

const [major, minor] = os.release().split('.').map(Number);
const listsWithoutSecurityfs = major > 6 || (major === 6 && minor >= 8);

test('activeLsms names what the kernel lists in securityfs', {
  ...needsRoot, skip: !existsSync(LSM_FILE) && !listsWithoutSecurityfs
    ? 'securityfs not mounted and no lsm_list_modules(2) before 6.8'
    : needsRoot.skip,
}, () => {
  const lsms = activeLsms();
  assert.ok(lsms.includes('capability'), `capability in ${lsms}`);
  assert.deepEqual([...lsms].sort(), securityfsList().sort());
});

/** The kernel runs AppArmor, even where securityfs is not mounted. */
function kernelHasApparmor(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8')
      .startsWith('Y');
  } catch {
    return false;
  }
}

const apparmorOff = apparmorEnabled() || kernelHasApparmor()
  ? 'AppArmor is on in this kernel (apparmor.test.ts covers it)'
  : undefined;

test('without AppArmor: a profile is refused in one line', {
  skip: apparmorOff,
}, () => {
  assert.equal(apparmorEnabled(), false);
  assert.throws(() => checkApparmorProfile('skiff-default'),
    { message: 'apparmor is not enabled on this host' });
  checkApparmorProfile('unconfined');
  ensureDefaultProfile(); // nothing to load into
  // The kernel itself refuses the exec attribute: no LSM takes it.
  assert.throws(() => applyApparmor('skiff-default'),
    /^Error: apparmor: set exec profile skiff-default: E[A-Z]+$/);
  applyApparmor('unconfined');
  applyApparmor('');
});

test('apparmor_parser compiles the default profile', {
  skip: spawnSync('sh', ['-c', 'command -v apparmor_parser']).status
    ? 'apparmor_parser missing (apt-get install apparmor)' : undefined,
}, (t) => {
  const file = join(tempDir(t), 'skiff-default');
  const text = defaultProfileText();
  assert.match(text, /^profile skiff-default flags=/m);
  assert.match(text, /^ {2}deny mount,/m);
  // -Q: compile only, -K: no cache; the kernel is not touched.
  const r = spawnSync('sh', ['-c', `cat > ${file} && ` +
    `apparmor_parser -Q -K ${file}`], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('parseLabelOpt takes docker\'s forms', () => {
  assert.deepEqual(parseLabelOpt('label=user:USER'), { user: 'USER' });
  assert.deepEqual(parseLabelOpt('role:ROLE'), { role: 'ROLE' });
  assert.deepEqual(parseLabelOpt('type:svirt_apache_t'),
    { type: 'svirt_apache_t' });
  assert.deepEqual(parseLabelOpt('level:s0:c100,c200'),
    { level: 's0:c100,c200' });
  assert.deepEqual(parseLabelOpt('filetype:container_file_t'),
    { filetype: 'container_file_t' });
  assert.deepEqual(parseLabelOpt('label:disable'), { disable: true });
  assert.deepEqual(parseLabelOpt('nested'), { nested: true });
  assert.deepEqual(parseLabelOpts(['type:a_t', 'level:s0', 'type:b_t']),
    { type: 'b_t', level: 's0' });
});

test('parseLabelOpt refuses junk in one line', () => {
  for (const bad of ['foo', 'label=foo', 'colour:red', 'type:', ':x', '']) {
    assert.throws(() => parseLabelOpt(bad), (err: Error) => {
      assert.match(err.message, /^bad label option "[^"]*": valid options/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
});

test('without SELinux: label options are refused, disable passes', {
  skip: selinuxEnabled() ? 'SELinux is enabled here' : undefined,
}, () => {
  assert.throws(() => checkLabel({ type: 'container_t' }), {
    message: 'selinux is not enabled on this host: ' +
      '--security-opt label=type:container_t needs it',
  });
  checkLabel({ disable: true });
  checkLabel({});
  assert.equal(processLabel({ type: 'container_t' }), undefined);
  applySelinux(undefined);
  assert.throws(() => applySelinux('system_u:system_r:container_t:s0'),
    /^Error: selinux: set exec label .*: selinux is not enabled/);
});

test('labels are composed user:role:type:level', () => {
  assert.equal(mountLabel({}, 's0:c1,c2'),
    'system_u:object_r:container_file_t:s0:c1,c2');
  assert.equal(mountLabel({ filetype: 'my_file_t' }, 's0'),
    'system_u:object_r:my_file_t:s0');
});

test('skiff doctor says which LSMs are active and what can be used',
  needsRoot, () => {
    const r = runTs('final/cli.ts', ['doctor']);
    const section = r.stdout.slice(r.stdout.indexOf('Security:\n'));
    const lsms = activeLsms();
    if (lsms.length) {
      assert.match(section, new RegExp(`^ {2}ok {4}LSMs active: ${
        lsms.join(', ')}$`, 'm'));
    }
    assert.match(section, apparmorEnabled()
      ? /^ {2}ok {4}AppArmor enabled: containers run under skiff-default$/m
      : /^ {2}(ok|warn) {2,4}AppArmor (not enabled|is on but securityfs)/m);
    assert.match(section, selinuxEnabled() ? /SELinux enabled/
      : /SELinux not enabled \(label=\.\.\. refused\)/);
  });
