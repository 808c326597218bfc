// skiff version: the client's and the daemon's, like docker version.
import { API_VERSION, SKIFF_VERSION } from '../paths.ts';
import type { Command } from './command.ts';
import { INSPECT_FORMAT, str } from './command.ts';
import { applyFormat } from '../format.ts';

const command: Command = {
  usage: 'version [OPTIONS]',
  summary: 'Show the skiff version information',
  flags: [INSPECT_FORMAT],
  maxArgs: 0,
  async run(p, ctx) {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const client = { Version: SKIFF_VERSION, ApiVersion: API_VERSION,
      NodeVersion: process.version, Os: 'linux', Arch: arch };
    const server = await ctx.client.call('GET', '/version');
    const format = str(p, 'format');
    if (format) {
      ctx.out(applyFormat(format, { Client: client, Server: server }) + '\n');
      return 0;
    }
    ctx.out([
      'Client:',
      ` Version:           ${client.Version}`,
      ` API version:       ${client.ApiVersion}`,
      ` Node version:      ${client.NodeVersion}`,
      ` OS/Arch:           linux/${arch}`,
      '',
      'Server: skiff',
      ' Engine:',
      `  Version:          ${server.Version}`,
      `  API version:      ${server.ApiVersion} (minimum version ${
        server.MinAPIVersion})`,
      `  Node version:     ${server.GoVersion}`,
      `  OS/Arch:          ${server.Os}/${server.Arch}`,
      `  Kernel version:   ${server.KernelVersion}`,
      `  Runtime:          ${server.Components[0].Details.Runtime}`,
    ].join('\n') + '\n');
    return 0;
  },
};
export default command;
