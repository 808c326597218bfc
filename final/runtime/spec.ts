// `spec`: a starting config.json in the bundle, as `runc spec` writes
// one: chapter 02's defaults (the one spec builder) with runc's choices
// for a hand-made bundle: rootfs/ beside it, a terminal, `sh`.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PATH } from '../../chapters/01-chroot/chroot.ts';
import { defaultSpec } from '../../chapters/02-namespaces/defaults.ts';
import { RuntimeError } from './store.ts';

/** runc's three capabilities for a hand-made container. */
const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function writeSpec(bundle = '.'): string {
  const file = join(bundle, 'config.json');
  if (existsSync(file)) {
    throw new RuntimeError(`File ${file} exists. Remove it first`);
  }
  const spec = defaultSpec({ rootfs: '/', args: ['sh'],
    namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'],
    env: [DEFAULT_PATH, 'TERM=xterm'] });
  const config = {
    ...spec,
    process: { ...spec.process, terminal: true, noNewPrivileges: true,
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS,
        ambient: CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }] },
    root: { path: 'rootfs', readonly: true },
    linux: { ...spec.linux,
      resources: { devices: [{ allow: false, access: 'rwm' }] } },
  };
  writeFileSync(file, `${JSON.stringify(config, null, '\t')}\n`);
  return file;
}
