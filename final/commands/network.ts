// skiff network create|ls|rm|inspect|prune: chapter 05's bridges.
import { applyFormat, table } from '../format.ts';
import type { Command } from './command.ts';
import {
  bool, forEach, FORMAT_FLAG, inspectCommand, list, management, q, str,
} from './command.ts';

interface Network {
  Name: string; Id: string; Driver: string; Scope: string;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
}

const create: Command = {
  usage: 'network create [OPTIONS] NETWORK',
  summary: 'Create a network',
  flags: [
    { name: 'driver', short: 'd', kind: 'string', value: 'string',
      default: 'bridge', help: 'Driver to manage the Network' },
    { name: 'subnet', kind: 'string', value: 'string',
      help: 'Subnet in CIDR format that represents a network segment' },
    { name: 'gateway', kind: 'string', value: 'string',
      help: 'IPv4 Gateway for the master subnet' },
    { name: 'label', kind: 'list', help: 'Set metadata on a network' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(p, ctx) {
    if (str(p, 'driver') !== 'bridge') {
      throw new Error(`network create: driver "${str(p, 'driver')}" is ` +
        'not supported (only bridge)');
    }
    const subnet = str(p, 'subnet');
    const gateway = str(p, 'gateway');
    if (gateway && !subnet) {
      throw new Error('network create: --gateway needs --subnet');
    }
    const r = await ctx.client.call<{ Id: string }>('POST',
      '/networks/create', { Name: p.args[0], Driver: 'bridge',
        Labels: labels(list(p, 'label')),
        IPAM: { Config: subnet ? [{ Subnet: subnet, Gateway: gateway }]
          : [] } });
    ctx.out(`${r.Id}\n`);
    return 0;
  },
};

/** ["k=v", "k"] -> {k: v, k: ""}, as docker's --label. */
function labels(list: string[]): Record<string, string> {
  return Object.fromEntries(list.map((l) => {
    const eq = l.indexOf('=');
    return eq < 0 ? [l, ''] : [l.slice(0, eq), l.slice(eq + 1)];
  }));
}

const connect: Command = {
  usage: 'network connect [OPTIONS] NETWORK CONTAINER',
  summary: 'Connect a container to a network',
  flags: [
    { name: 'alias', kind: 'list',
      help: 'Add network-scoped alias for the container' },
    { name: 'ip', kind: 'string', help: 'IPv4 address' },
  ],
  minArgs: 2,
  maxArgs: 2,
  async run(p, ctx) {
    const ip = str(p, 'ip');
    await ctx.client.call('POST', `/networks/${q(p.args[0])}/connect`, {
      Container: p.args[1], EndpointConfig: { Aliases: list(p, 'alias'),
        IPAMConfig: ip ? { IPv4Address: ip } : {} } });
    return 0;
  },
};

const disconnect: Command = {
  usage: 'network disconnect [OPTIONS] NETWORK CONTAINER',
  summary: 'Disconnect a container from a network',
  flags: [{ name: 'force', short: 'f', kind: 'bool',
    help: 'Force the container to disconnect from a network' }],
  minArgs: 2,
  maxArgs: 2,
  async run(p, ctx) {
    await ctx.client.call('POST', `/networks/${q(p.args[0])}/disconnect`,
      { Container: p.args[1], Force: bool(p, 'force') });
    return 0;
  },
};

const ls: Command = {
  usage: 'network ls [OPTIONS]',
  summary: 'List networks',
  flags: [
    { name: 'quiet', short: 'q', kind: 'bool',
      help: 'Only display network IDs' },
    { name: 'no-trunc', kind: 'bool', help: 'Do not truncate the output' },
    FORMAT_FLAG,
  ],
  maxArgs: 0,
  async run(p, ctx) {
    const nets = await ctx.client.call<Network[]>('GET', '/networks');
    const rows = nets.map((n) => ({ ID: bool(p, 'no-trunc') ? n.Id
      : n.Id.slice(0, 12), Name: n.Name, Driver: n.Driver, Scope: n.Scope,
    Subnet: n.IPAM.Config[0]?.Subnet ?? '' }));
    const format = str(p, 'format');
    if (bool(p, 'quiet')) ctx.out(rows.map((r) => `${r.ID}\n`).join(''));
    else if (format) {
      ctx.out(rows.map((r) => applyFormat(format, r) + '\n').join(''));
    } else {
      ctx.out(table([['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
        ...rows.map((r) => [r.ID, r.Name, r.Driver, r.Scope])]));
    }
    return 0;
  },
};

const rm: Command = {
  usage: 'network rm NETWORK [NETWORK...]',
  summary: 'Remove one or more networks',
  flags: [],
  minArgs: 1,
  async run(p, ctx) {
    return forEach(p.args, (n) => ctx.client.call('DELETE',
      `/networks/${q(n)}`), ctx);
  },
};

const inspect = inspectCommand('network', (n) => `/networks/${q(n)}`);

const prune: Command = {
  usage: 'network prune [OPTIONS]',
  summary: 'Remove all unused networks',
  flags: [{ name: 'force', short: 'f', kind: 'bool',
    help: 'Do not prompt for confirmation' }],
  maxArgs: 0,
  async run(_p, ctx) {
    const r = await ctx.client.call('POST', '/networks/prune');
    if (r.NetworksDeleted.length) {
      ctx.out(`Deleted Networks:\n${r.NetworksDeleted.join('\n')}\n`);
    }
    return 0;
  },
};

export default management('network', 'Manage networks',
  { create, connect, disconnect, ls, rm, inspect, prune });
