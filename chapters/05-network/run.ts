// Demo: chapter 04's container, now with a network card.
//
//   sudo npx tsx chapters/05-network/run.ts [--network MODE] [-p SPEC]...
//     [chapter 04's flags: --root DIR, --name NAME, --memory SIZE, ...]
//     <image> [command] [args...]
//
// MODE is bridge (the default), host, none, container:<pid>, or a network
// made with `netctl.ts create`. -p is `docker run -p`:
// [hostIP:][hostPort:]containerPort[/tcp|/udp|/sctp], ports or ranges.
// --name is also a name of the container in its /etc/hosts. The host side's names and state come
// from the SKIFF_NET_* variables (networks.ts).
import { extend, type Flag, mainOf } from '../02-namespaces/chain.ts';
import { demo as chapter04, type Options as Previous } from
  '../04-aufs-overlay/run.ts';
import { netConfigFromEnv } from './networks.ts';
import { parsePublish, publishMode, type PortMapping } from './ports.ts';
import { networkStep } from './step.ts';

export interface NetworkOptions {
  network: string;
  publish: PortMapping[];
}
export type Options = Previous & NetworkOptions;

const network: Flag<Options> = { arg: 'MODE',
  set: (o, v) => { o.network = v; } };
const publish: Flag<Options> = { arg: 'SPEC', many: true,
  set: (o, v) => { o.publish.push(parsePublish(v)); } };

// #region main
export const demo = extend<Previous, NetworkOptions>(chapter04, {
  flags: { '--network': network, '--net': network,
    '-p': publish, '--publish': publish },
  options: () => ({ network: 'bridge', publish: [] }),
  parsed(o) {
    // -p with host or none: a warning, as Docker's, and no mapping.
    const { warning } = publishMode(o.network, o.publish);
    if (warning) process.stderr.write(`WARNING: ${warning}\n`);
  },
  spec(spec, o, id) {
    if (o.hostname === undefined) spec.hostname = id.slice(0, 12);
  },
  steps: (o) => [networkStep({ network: o.network, publish: o.publish,
    name: o.name, config: netConfigFromEnv() })],
});
// #endregion

mainOf(import.meta.url, demo);
