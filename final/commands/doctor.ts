// skiff doctor: what this host can do for skiff, in plain words, and
// what to install or change where it cannot - moby's check-config.sh
// for a TypeScript engine. Runs without the daemon.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { mountInfo } from '../../chapters/02-namespaces/procfs.ts';
import {
  activeLsms, apparmorEnabled, apparmorNeedsSecurityfs, selinuxEnabled,
} from '../../chapters/06-security/lsm.ts';
import {
  DEFAULT_APPARMOR_PROFILE,
} from '../../chapters/06-security/apparmor.ts';
import type { Command } from './command.ts';

type Level = 'ok' | 'warn' | 'fail';
interface Check { level: Level; what: string; fix?: string }

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function kernel(): Check[] {
  const [major, minor] = os.release().split('.').map(Number);
  const ok = major > 5 || (major === 5 && minor >= 4);
  return [{ level: ok ? 'ok' : 'warn', what: `kernel ${os.release()}`,
    fix: ok ? undefined : 'a kernel of 5.4 or later is recommended' }];
}

// #region namespaces (unused)
const NAMESPACES: [string, string, string[]][] = [
  ['pid', 'pid', ['--pid', '--fork']], ['mnt', 'mount', ['--mount']],
  ['uts', 'uts', ['--uts']], ['ipc', 'ipc', ['--ipc']],
  ['net', 'network', ['--net']], ['user', 'user', ['--user']],
  ['cgroup', 'cgroup', ['--cgroup']]];

// #region namespace-probe
/**
 * Each namespace, tried for real: util-linux's unshare(1) makes one and
 * runs `true` in it. Without unshare(1), /proc/self/ns/<type> at least
 * says the kernel knows the type.
 */
function namespaces(): Check[] {
  const probe = has('unshare');
  return NAMESPACES.map(([file, name, flags]): Check => {
    const known = existsSync(`/proc/self/ns/${file}`);
    const r = known && probe ? spawnSync('unshare', [...flags, 'true'],
      { encoding: 'utf8' }) : undefined;
    if (known && (!r || r.status === 0)) {
      return { level: 'ok', what: `${name} namespace` };
    }
    if (!known) {
      return { level: 'fail', what: `${name} namespace missing`,
        fix: `a kernel with CONFIG_${file.toUpperCase()}_NS=y` };
    }
    const max = read('/proc/sys/user/max_user_namespaces').trim();
    const why = r?.stderr.trim().split('\n')[0].replace(/^unshare: /, '');
    return { level: name === 'user' ? 'warn' : 'fail',
      what: `${name} namespace: the kernel refuses to make one (${why})`,
      fix: name === 'user' && max === '0'
        ? 'sysctl -w user.max_user_namespaces=15000'
        : `check unshare ${flags.join(' ')} true as root` };
  });
// #endregion
}
// #endregion

// #region cgroups
function cgroups(): Check[] {
  const mounts = mountInfo();
  const v2root = mounts.some((m) => m.mountPoint === '/sys/fs/cgroup' &&
    m.fsType === 'cgroup2');
  if (v2root) {
    const ctrl = read('/sys/fs/cgroup/cgroup.controllers').trim().split(' ');
    const need = ['cpu', 'memory', 'pids', 'cpuset', 'io'];
    const missing = need.filter((c) => !ctrl.includes(c));
    return [{ level: 'ok', what: `cgroup v2 (unified), controllers: ${
      ctrl.join(' ')}` }, ...missing.map((c): Check => ({ level: 'warn',
      what: `cgroup v2 controller ${c} not available`,
      fix: `enable it in the parent's cgroup.subtree_control` }))];
  }
  const v1 = read('/proc/cgroups').split('\n').slice(1).filter(Boolean)
    .map((l) => l.split('\t')).filter((f) => f[3] === '1').map((f) => f[0]);
  if (v1.length === 0) {
    return [{ level: 'fail', what: 'no cgroup hierarchy mounted',
      fix: 'mount cgroup2 at /sys/fs/cgroup (systemd does this)' }];
  }
  const hybrid = mounts.some((m) => m.fsType === 'cgroup2') ? ' (hybrid)'
    : '';
  const need = ['cpu', 'memory', 'pids', 'cpuset', 'freezer'];
  return [{ level: 'ok', what: `cgroup v1${hybrid}, controllers: ${
    v1.join(' ')}` }, ...need.filter((c) => !v1.includes(c))
    .map((c): Check => ({ level: 'warn', what: `cgroup v1 controller ${c} ` +
      'not enabled', fix: `boot with cgroup_enable=${c}` }))];
}
// #endregion

function storage(): Check[] {
  return [...overlay(), ...stateRoot()];
}

/**
 * overlayfs cannot take its upper directory on overlayfs (EINVAL): a
 * state root inside a container's filesystem will not do.
 */
function stateRoot(): Check[] {
  const root = process.env.SKIFF_ROOT || '/var/lib/skiff';
  let dir = root;
  while (!existsSync(dir)) dir = dir.slice(0, dir.lastIndexOf('/')) || '/';
  const type = spawnSync('stat', ['-f', '-c', '%T', dir],
    { encoding: 'utf8' }).stdout?.trim();
  if (type === 'overlayfs') {
    return [{ level: 'fail', what: `state root ${root} is on overlayfs`,
      fix: 'set SKIFF_ROOT to a directory on ext4, xfs, btrfs or tmpfs' }];
  }
  return [{ level: 'ok', what: `state root ${root} on ${type || '?'}` }];
}

function overlay(): Check[] {
  const fs = read('/proc/filesystems');
  const module = existsSync(`/lib/modules/${os.release()}/kernel/fs/overlayfs`);
  if (/\toverlay\n/.test(fs)) return [{ level: 'ok', what: 'overlayfs' }];
  return [{ level: module ? 'ok' : 'fail', what: module
    ? 'overlayfs (module, loaded on first mount)' : 'overlayfs missing',
  fix: module ? undefined : 'load it: modprobe overlay' }];
}

function network(): Check[] {
  const out: Check[] = [];
  const ipt = spawnSync('iptables', ['-w', '-t', 'nat', '-S', 'POSTROUTING'],
    { encoding: 'utf8' });
  const version = spawnSync('iptables', ['--version'], { encoding: 'utf8' })
    .stdout?.trim();
  out.push(ipt.status === 0 ? { level: 'ok', what: `iptables: ${version}` }
    : ipt.error ? { level: 'fail', what: 'iptables missing (no NAT, ' +
      'no -p)', fix: 'apt-get install iptables' }
      : { level: 'fail', what: `iptables cannot read the nat table: ${
        ipt.stderr.trim().split('\n')[0]}`, fix: 'load the modules: ' +
        'modprobe nf_nat iptable_nat (or nf_tables for the nft backend)' });
  out.push(has('ip') ? { level: 'ok', what: 'iproute2 (ip)' }
    : { level: 'warn', what: 'iproute2 missing',
      fix: 'apt-get install iproute2' });
  const fwd = read('/proc/sys/net/ipv4/ip_forward').trim();
  out.push(fwd === '1' ? { level: 'ok', what: 'IPv4 forwarding on' }
    : { level: 'warn', what: 'IPv4 forwarding off: containers reach only ' +
      'the host', fix: 'sysctl -w net.ipv4.ip_forward=1 (skiff turns it ' +
      'on when it creates a network)' });
  for (const mod of ['bridge', 'veth']) {
    const there = existsSync(`/sys/module/${mod}`) || builtin(mod) ||
      existsSync(`/lib/modules/${os.release()}/kernel/drivers/net/${mod}.ko`)
      || existsSync(`/lib/modules/${os.release()}/kernel/net/${mod}`);
    out.push({ level: there ? 'ok' : 'warn', what: `${mod} ${there
      ? 'available' : 'module not found'}`, fix: there ? undefined
      : `modprobe ${mod}` });
  }
  return out;
}

/**
 * Asks the kernel: a built-in driver has no module file and often no
 * /sys/module entry, so create a device of that kind and delete it.
 */
function builtin(mod: string): boolean {
  if (!has('ip')) return false;
  const name = `skdoc${process.pid.toString(36)}`.slice(0, 15);
  const args = mod === 'veth' ? `type veth peer name ${name}p`
    : 'type bridge';
  try {
    execFileSync('sh', ['-c', `ip link add ${name} ${args} && ` +
      `ip link del ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function users(): Check[] {
  const who = process.env.SUDO_USER || os.userInfo().username;
  const uid = process.env.SUDO_UID ?? String(os.userInfo().uid);
  return ['subuid', 'subgid'].map((kind): Check => {
    const ranges = read(`/etc/${kind}`).split('\n').filter((l) =>
      l.startsWith(`${who}:`) || l.startsWith(`${uid}:`));
    return ranges.length ? { level: 'ok', what: `/etc/${kind} ranges for ${
      who}: ${ranges.map((r) => r.split(':').slice(1).join(':'))
      .join(', ')}` }
      : { level: 'warn', what: `no /etc/${kind} range for ${who} ` +
        '(a user namespace can map only one id)',
      fix: `usermod --add-${kind}s 100000-165535 ${who}` };
  });
}

function tools(): Check[] {
  const bb = read('/bin/busybox');
  const out: Check[] = [];
  if (!bb) {
    out.push({ level: 'fail', what: 'busybox-static missing (the book\'s ' +
      'busybox image)', fix: 'apt-get install busybox-static' });
  } else {
    const dynamic = bb.slice(0, 4096).includes('ld-linux');
    out.push(dynamic ? { level: 'fail', what: '/bin/busybox is dynamically ' +
      'linked', fix: 'apt-get install busybox-static' }
      : { level: 'ok', what: 'busybox-static' });
  }
  const [major] = process.versions.node.split('.').map(Number);
  out.push({ level: major >= 20 ? 'ok' : 'fail', what: `node ${
    process.version}`, fix: major >= 20 ? undefined : 'install Node.js 20+' });
  out.push(process.getuid?.() === 0 ? { level: 'ok', what: 'running as root' }
    : { level: 'fail', what: 'not root: the engine needs root',
      fix: 'run with sudo' });
  return out;
}

// #region security (unused)
/**
 * The Linux Security Modules: which the kernel runs, and whether the
 * two that confine containers, AppArmor and SELinux, can be used.
 * Neither is required: capabilities and seccomp confine without them.
 */
function security(): Check[] {
  const lsms = activeLsms();
  const out: Check[] = [lsms.length
    ? { level: 'ok', what: `LSMs active: ${lsms.join(', ')}` }
    : { level: 'warn', what: 'LSMs: cannot list them (securityfs not ' +
      'mounted, kernel before 6.8)', fix: 'mount -t securityfs ' +
      'securityfs /sys/kernel/security' }];
  out.push(apparmor());
  out.push(selinuxEnabled()
    ? { level: 'ok', what: 'SELinux enabled (--security-opt label=...)' }
    : { level: 'ok', what: 'SELinux not enabled (label=... refused)' });
  return out;
}
// #endregion

function apparmor(): Check {
  if (apparmorNeedsSecurityfs()) {
    return { level: 'warn', what: 'AppArmor is on but securityfs is not ' +
      'mounted: no profile can be loaded', fix: 'mount -t securityfs ' +
      'securityfs /sys/kernel/security' };
  }
  if (!apparmorEnabled()) {
    return { level: 'ok', what: 'AppArmor not enabled (apparmor=... ' +
      'refused)' };
  }
  return has('apparmor_parser') || existsSync('/usr/sbin/apparmor_parser')
    ? { level: 'ok', what: 'AppArmor enabled: containers run under ' +
      `${DEFAULT_APPARMOR_PROFILE}` }
    : { level: 'fail', what: 'AppArmor enabled but apparmor_parser ' +
      'missing: skiff-default cannot be loaded',
    fix: 'apt-get install apparmor' };
}

// #region report (unused)
const SECTIONS: [string, () => Check[]][] = [
  ['Kernel', kernel], ['Namespaces', namespaces], ['Control groups', cgroups],
  ['Storage', storage], ['Network', network], ['Users', users],
  ['Security', security], ['Tools', tools],
];

const MARK: Record<Level, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

const command: Command = {
  usage: 'doctor',
  summary: 'Check what this host supports and what to install',
  flags: [],
  maxArgs: 0,
  async run(_p, ctx) {
    const fixes: string[] = [];
    let failed = 0;
    for (const [title, check] of SECTIONS) {
      ctx.out(`${title}:\n`);
      for (const c of check()) {
        ctx.out(`  ${MARK[c.level]}  ${c.what}\n`);
        if (c.fix) fixes.push(`${c.what}: ${c.fix}`);
        if (c.level === 'fail') failed++;
      }
    }
    ctx.out(fixes.length ? `\nTo do:\n${fixes.map((f) => `  - ${f}\n`)
      .join('')}` : '\nEverything skiff uses is here.\n');
    return failed ? 1 : 0;
  },
};
// #endregion
export default command;
