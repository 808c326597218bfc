// `features`: what this runtime can do, as the runtime-spec's features
// document (features.md) lets a caller ask before it writes a config.
import { allCapabilities } from '../../chapters/06-security/capabilities.ts';
import {
  apparmorEnabled, selinuxEnabled,
} from '../../chapters/06-security/lsm.ts';
import { OCI_VERSION } from './store.ts';

const MOUNT_OPTIONS = ['async', 'atime', 'bind', 'defaults', 'dev',
  'diratime', 'dirsync', 'exec', 'noatime', 'nodev', 'nodiratime',
  'noexec', 'nosuid', 'private', 'rbind', 'relatime', 'ro', 'rprivate',
  'rshared', 'rslave', 'runbindable', 'rw', 'shared', 'slave',
  'strictatime', 'suid', 'sync', 'unbindable'];

export function features(): string {
  return JSON.stringify({
    ociVersionMin: '1.0.0', ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer',
      'startContainer', 'poststart', 'poststop'],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user',
        'uts'],
      capabilities: allCapabilities(),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false,
        rdma: false },
      seccomp: { enabled: true,
        actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL',
          'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG',
          'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'],
        operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT',
          'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'],
        archs: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        knownFlags: ['SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'],
        supportedFlags: ['SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'] },
      apparmor: { enabled: apparmorEnabled() },
      selinux: { enabled: selinuxEnabled() },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'io.github.skiff.runtime': 'skiff-runtime' },
  }, null, 2);
}
