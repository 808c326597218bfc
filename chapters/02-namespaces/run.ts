// Demo: run a command in a container, every namespace on by default;
// switch them off one at a time to watch the isolation disappear.
//
//   sudo npx tsx chapters/02-namespaces/run.ts [--no-uts] [--no-ipc]
//     [--no-pid] [--no-mnt] [--no-net] [--no-user] [--no-cgroup]
//     [--hostname NAME] [--init] <rootfs> <command> [args...]
import { randomBytes } from 'node:crypto';
import { exitWithError } from '../01-chroot/fail.ts';
import { ALL_NAMESPACES, defaultSpec } from './defaults.ts';
import type { NamespaceType } from './spec.ts';
import { startContainer } from './start.ts';

const FLAGS: Record<string, NamespaceType> = {
  '--no-uts': 'uts', '--no-ipc': 'ipc', '--no-pid': 'pid',
  '--no-mnt': 'mount', '--no-net': 'network', '--no-user': 'user',
  '--no-cgroup': 'cgroup',
};
const USAGE = 'usage: run.ts [--no-uts] [--no-ipc] [--no-pid] [--no-mnt] ' +
  '[--no-net] [--no-user] [--no-cgroup] [--hostname NAME] [--init] ' +
  '<rootfs> <command> [args...]';

function parse(argv: string[]) {
  const off = new Set<NamespaceType>();
  let hostname: string | undefined;
  let init = false;
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('--'); i++) {
    const a = argv[i];
    if (a in FLAGS) off.add(FLAGS[a]);
    else if (a === '--init') init = true;
    else if (a === '--hostname' && argv[i + 1]) hostname = argv[++i];
    else throw new Error(`unknown option "${a}"\n${USAGE}`);
  }
  const [rootfs, ...args] = argv.slice(i);
  if (!rootfs || args.length === 0) throw new Error(USAGE);
  const namespaces = ALL_NAMESPACES.filter((ns) => !off.has(ns));
  return { rootfs, args, namespaces, hostname, init };
}

// #region main
async function main(argv: string[]): Promise<number> {
  const spec = defaultSpec(parse(argv));
  const id = randomBytes(6).toString('hex');
  const container = await startContainer(spec, { id });
  // Like `docker run`, pass the signals we get on to the container.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => container.kill(sig));
  }
  const status = await container.wait();
  await container.destroy();
  return status.code;
}
// #endregion

main(process.argv.slice(2)).then((code) => process.exit(code), exitWithError);
