// skiff update: new limits (and restart policy) for containers, applied
// at once to running ones.
import { parseSize } from '../../chapters/03-cgroups/size.ts';
import { UsageError, type Parsed } from '../flags.ts';
import type { Command } from './command.ts';
import { forEach, q, str } from './command.ts';
import { parseRestart } from './run-flags.ts';

const command: Command = {
  usage: 'update [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Update configuration of one or more containers',
  flags: [
    { name: 'blkio-weight', kind: 'string', value: 'uint16',
      help: 'Block IO (relative weight), between 10 and 1000, or 0 to ' +
        'disable' },
    { name: 'cpu-period', kind: 'string', value: 'int',
      help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { name: 'cpu-quota', kind: 'string', value: 'int',
      help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { name: 'cpu-shares', short: 'c', kind: 'string', value: 'int',
      help: 'CPU shares (relative weight)' },
    { name: 'cpus', kind: 'string', value: 'decimal',
      help: 'Number of CPUs' },
    { name: 'cpuset-cpus', kind: 'string',
      help: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: 'cpuset-mems', kind: 'string',
      help: 'MEMs in which to allow execution (0-3, 0,1)' },
    { name: 'memory', short: 'm', kind: 'string', value: 'bytes',
      help: 'Memory limit' },
    { name: 'memory-reservation', kind: 'string', value: 'bytes',
      help: 'Memory soft limit' },
    { name: 'memory-swap', kind: 'string', value: 'bytes',
      help: 'Swap limit equal to memory plus swap: -1 to enable ' +
        'unlimited swap' },
    { name: 'pids-limit', kind: 'string', value: 'int',
      help: 'Tune container pids limit (set -1 for unlimited)' },
    { name: 'restart', kind: 'string',
      help: 'Restart policy to apply when a container exits' },
  ],
  minArgs: 1,
  async run(p, ctx) {
    const body = updateBody(p);
    if (Object.keys(body).length === 0) {
      throw new UsageError('you must provide one or more flags when ' +
        'using this command');
    }
    return forEach(p.args, async (name) => {
      const r = await ctx.client.call('POST',
        `/containers/${q(name)}/update`, body);
      for (const w of r?.Warnings ?? []) process.stderr.write(`${w}\n`);
    }, ctx);
  },
};
export default command;

/** The flags given, as docker's UpdateConfig. */
function updateBody(p: Parsed): Record<string, unknown> {
  const int = (flag: string) => {
    const v = str(p, flag);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) {
      throw new UsageError(`invalid argument "${v}" for "--${flag}" flag`);
    }
    return Number(v);
  };
  const size = (flag: string) => {
    const v = str(p, flag);
    if (v === undefined) return undefined;
    return v === '-1' ? -1 : parseSize(v, `--${flag}`);
  };
  const cpus = str(p, 'cpus');
  if (cpus !== undefined && !(Number(cpus) >= 0)) {
    throw new UsageError(`invalid argument "${cpus}" for "--cpus" flag`);
  }
  const restart = str(p, 'restart');
  const body: Record<string, unknown> = {
    BlkioWeight: int('blkio-weight'), CpuPeriod: int('cpu-period'),
    CpuQuota: int('cpu-quota'), CpuShares: int('cpu-shares'),
    NanoCpus: cpus === undefined ? undefined
      : Math.round(Number(cpus) * 1e9),
    CpusetCpus: str(p, 'cpuset-cpus'), CpusetMems: str(p, 'cpuset-mems'),
    Memory: size('memory'), MemoryReservation: size('memory-reservation'),
    MemorySwap: size('memory-swap'), PidsLimit: int('pids-limit'),
    RestartPolicy: restart === undefined ? undefined
      : parseRestart(restart),
  };
  for (const key of Object.keys(body)) {
    if (body[key] === undefined) delete body[key];
  }
  return body;
}
