// Demo: chapter 02's container, now with a network card.
//
//   sudo npx tsx chapters/05-network/run.ts [--network MODE] [-p SPEC]...
//     [--name NAME] [--hostname NAME] [--userns host] <rootfs> <command>
//     [args...]
//
// MODE is bridge (the default), host, none, container:<pid>, or a network
// made with `netctl.ts create`. -p is `docker run -p`:
// [hostIP:][hostPort:]containerPort[/tcp|/udp]. `--userns host` starts
// the container without a user namespace, as Docker's flag does.
import { randomBytes } from 'node:crypto';
import { exitWithError } from '../01-chroot/fail.ts';
import { ALL_NAMESPACES, defaultSpec } from '../02-namespaces/defaults.ts';
import { startContainer } from '../02-namespaces/start.ts';
import { netConfigFromEnv } from './network.ts';
import { checkPublishMode } from './ports.ts';
import { networkStep } from './step.ts';

const USAGE = 'usage: run.ts [--network MODE] [-p SPEC]... [--name NAME] ' +
  '[--hostname NAME] [--userns host] <rootfs> <command> [args...]';

function parse(argv: string[]) {
  const o = { network: 'bridge', publish: [] as string[], name: '',
    hostname: undefined as string | undefined, userns: true };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`option ${a} needs a value`);
    if (a === '--network' || a === '--net') o.network = v;
    else if (a === '-p' || a === '--publish') o.publish.push(v);
    else if (a === '--name') o.name = v;
    else if (a === '--hostname') o.hostname = v;
    else if (a === '--userns') {
      if (v !== 'host') throw new Error(`--userns "${v}": only "host"`);
      o.userns = false;
    }
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
    hostname: o.hostname ?? id.slice(0, 12),
    namespaces: ALL_NAMESPACES.filter((n) => o.userns || n !== 'user') });
  const net = networkStep({ network: o.network, publish: o.publish,
    name: o.name || undefined, config: netConfigFromEnv() });
  // -p with host or none: a warning, as Docker's, and no mapping.
  const warning = checkPublishMode(o.network, o.publish.length);
  if (warning) process.stderr.write(`${warning}\n`);
  const container = await startContainer(spec, { id, steps: [net] });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => container.kill(sig));
  }
  const status = await container.wait();
  await container.destroy();
  return status.code;
}
// #endregion

main(process.argv.slice(2)).then((code) => process.exit(code), exitWithError);
