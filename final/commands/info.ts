// skiff info: what the daemon reports about itself and the host.
import { humanSize } from '../format.ts';
import type { Command } from './command.ts';
import { INSPECT_FORMAT, str } from './command.ts';
import { applyFormat } from '../format.ts';

const command: Command = {
  usage: 'info [OPTIONS]',
  summary: 'Display system-wide information',
  flags: [INSPECT_FORMAT],
  maxArgs: 0,
  async run(p, ctx) {
    const i = await ctx.client.call('GET', '/info');
    const format = str(p, 'format');
    if (format) {
      ctx.out(applyFormat(format, i) + '\n');
      return 0;
    }
    ctx.out([
      'Server:',
      ` Containers: ${i.Containers}`,
      `  Running: ${i.ContainersRunning}`,
      `  Paused: ${i.ContainersPaused}`,
      `  Stopped: ${i.ContainersStopped}`,
      ` Images: ${i.Images}`,
      ` Volumes: ${i.Volumes}`,
      ` Server Version: ${i.ServerVersion}`,
      ` Storage Driver: ${i.Driver}`,
      ` Logging Driver: ${i.LoggingDriver}`,
      ` Cgroup Driver: ${i.CgroupDriver}`,
      ` Cgroup Version: ${i.CgroupVersion}`,
      ` Default Runtime: ${i.DefaultRuntime}`,
      ' Security Options:',
      ...(i.SecurityOptions as string[] ?? []).flatMap(securityLines),
      ` Kernel Version: ${i.KernelVersion}`,
      ` Operating System: ${i.OperatingSystem}`,
      ` OSType: ${i.OSType}`,
      ` Architecture: ${i.Architecture}`,
      ` CPUs: ${i.NCPU}`,
      ` Total Memory: ${humanSize(i.MemTotal)}`,
      ` Name: ${i.Name}`,
      ` Skiff Root Dir: ${i.DockerRootDir}`,
      ` Socket: ${i.Socket}`,
    ].join('\n') + '\n');
    return 0;
  },
};
/** "name=seccomp,profile=builtin" as docker info prints it. */
function securityLines(opt: string): string[] {
  const [name, ...kvs] = opt.split(',');
  return [`  ${name.replace(/^name=/, '')}`, ...kvs.map((kv) => {
    const [k, v] = kv.split('=');
    return `   ${k[0].toUpperCase()}${k.slice(1)}: ${v}`;
  })];
}

export default command;
