// Demo: `docker network` for chapter 05's networks.
//
//   sudo npx tsx chapters/05-network/netctl.ts create [--subnet CIDR]
//     [--gateway IP] NAME
//   sudo npx tsx chapters/05-network/netctl.ts ls | inspect NAME | rm NAME
//   sudo npx tsx chapters/05-network/netctl.ts sweep [--all]
import { exitWithError } from '../01-chroot/fail.ts';
import { sweep } from './cleanup.ts';
import {
  createNetwork, inspectNetwork, listNetworks, netConfigFromEnv,
  removeNetwork,
} from './networks.ts';
import { formatPublished } from './ports.ts';

const USAGE = 'usage: netctl.ts create [--subnet CIDR] [--gateway IP] NAME' +
  ' | ls | inspect NAME | rm NAME | sweep [--all]';

function main(argv: string[]): number {
  const cfg = netConfigFromEnv();
  const [cmd, ...rest] = argv;
  if (cmd === 'create') {
    const opts: { subnet?: string; gateway?: string } = {};
    while (rest[0]?.startsWith('--')) {
      const [flag, value] = rest.splice(0, 2);
      if (flag === '--subnet') opts.subnet = value;
      else if (flag === '--gateway') opts.gateway = value;
      else throw new Error(`unknown option "${flag}"\n${USAGE}`);
    }
    if (rest.length !== 1) throw new Error(USAGE);
    console.log(createNetwork(rest[0], opts, cfg).id);
  } else if (cmd === 'ls') {
    console.log('NETWORK ID     NAME         DRIVER    SUBNET');
    for (const n of listNetworks(cfg)) {
      console.log(`${n.id.slice(0, 12)}   ${n.name.padEnd(12)} ` +
        `${n.driver.padEnd(9)} ${n.subnet ?? ''}`);
    }
  } else if (cmd === 'inspect' && rest.length === 1) {
    const n = inspectNetwork(rest[0], cfg);
    console.log(JSON.stringify({ ...n, containers: n.containers.map((c) =>
      ({ ...c, ports: c.ports.map(formatPublished) })) }, null, 2));
  } else if (cmd === 'rm' && rest.length === 1) {
    removeNetwork(rest[0], cfg);
    console.log(rest[0]);
  } else if (cmd === 'sweep') {
    for (const line of sweep(cfg, rest[0] === '--all')) console.log(line);
  } else {
    throw new Error(USAGE);
  }
  return 0;
}

try {
  process.exit(main(process.argv.slice(2)));
} catch (err) {
  exitWithError(err);
}
