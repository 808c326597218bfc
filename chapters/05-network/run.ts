// Demo: chapter 02's container, now with a network card.
//
//   sudo npx tsx chapters/05-network/run.ts [--network MODE] [-p SPEC]...
//     [--name NAME] [--hostname NAME] <rootfs> <command> [args...]
//
// MODE is bridge (the default), host, none, container:<pid>, or a network
// made with `network.ts create`. -p is `docker run -p`:
// [hostIP:][hostPort:]containerPort[/tcp|/udp].
import { randomBytes } from 'node:crypto';
import { exitWithError } from '../01-chroot/fail.ts';
import { defaultSpec } from '../02-namespaces/defaults.ts';
import { startContainer } from '../02-namespaces/start.ts';
import { formatMapping } from './ports.ts';
import { networkStep } from './step.ts';
import { findLease, netConfig } from './network.ts';

const USAGE = 'usage: run.ts [--network MODE] [-p SPEC]... [--name NAME] ' +
  '[--hostname NAME] <rootfs> <command> [args...]';

function parse(argv: string[]) {
  const o = { network: 'bridge', publish: [] as string[], name: '',
    hostname: undefined as string | undefined };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`option ${a} needs a value`);
    if (a === '--network' || a === '--net') o.network = v;
    else if (a === '-p' || a === '--publish') o.publish.push(v);
    else if (a === '--name') o.name = v;
    else if (a === '--hostname') o.hostname = v;
    else throw new Error(`unknown option "${a}"\n${USAGE}`);
    i++;
  }
  const [rootfs, ...args] = argv.slice(i);
  if (!rootfs || args.length === 0) throw new Error(USAGE);
  return { ...o, rootfs, args };
}

// #region main
async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  const id = randomBytes(32).toString('hex');
  const spec = defaultSpec({ rootfs: o.rootfs, args: o.args,
    hostname: o.hostname ?? id.slice(0, 12) });
  const net = networkStep({ network: o.network, publish: o.publish,
    name: o.name || undefined, config: configFromEnv() });
  const container = await startContainer(spec, { id, steps: [net] });
  const lease = findLease(netConfig(configFromEnv()), id)?.lease;
  if (lease) {
    process.stderr.write(`skiff: ${id.slice(0, 12)} ${lease.ip} ` +
      `${lease.ports.map(formatMapping).join(', ')}\n`);
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => container.kill(sig));
  }
  const status = await container.wait();
  await container.destroy();
  return status.code;
}
// #endregion

/** Tests point the demo at their own state dir, chains and bridge. */
export function configFromEnv() {
  const e = process.env;
  return {
    ...(e.SKIFF_NET_DIR ? { stateDir: e.SKIFF_NET_DIR } : {}),
    ...(e.SKIFF_NET_PREFIX ? { chainPrefix: e.SKIFF_NET_PREFIX } : {}),
    ...(e.SKIFF_NET_BRIDGE ? { defaultBridge: e.SKIFF_NET_BRIDGE } : {}),
    ...(e.SKIFF_NET_SUBNET ? { defaultSubnet: e.SKIFF_NET_SUBNET } : {}),
  };
}

main(process.argv.slice(2)).then((code) => process.exit(code), exitWithError);
