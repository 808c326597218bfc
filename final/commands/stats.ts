// skiff stats: CPU, memory, network, block I/O and pids of containers,
// from chapter 03's cgroup accounting. CPU% as docker computes it: the
// container's CPU time over the machine's in the same interval, times
// the number of CPUs (100% = one CPU busy).
import type { Client } from '../client.ts';
import { applyFormat, binarySize, humanSize, table } from '../format.ts';
import type { StatsDoc } from '../daemon/stats.ts';
import type { Command } from './command.ts';
import { bool, FORMAT_FLAG, q, str } from './command.ts';

// #region cpu-percent
export function cpuPercent(s: StatsDoc): number {
  const cpu = s.cpu_stats.cpu_usage.total_usage -
    s.precpu_stats.cpu_usage.total_usage;
  const system = s.cpu_stats.system_cpu_usage -
    s.precpu_stats.system_cpu_usage;
  if (cpu <= 0 || system <= 0 || !s.precpu_stats.system_cpu_usage) return 0;
  return cpu / system * s.cpu_stats.online_cpus * 100;
}
// #endregion

function row(s: StatsDoc): Record<string, string> {
  const mem = s.memory_stats.usage - s.memory_stats.stats.inactive_file;
  const nets = Object.values(s.networks);
  const rx = nets.reduce((a, n) => a + n.rx_bytes, 0);
  const tx = nets.reduce((a, n) => a + n.tx_bytes, 0);
  const io = (op: string) => s.blkio_stats.io_service_bytes_recursive
    .filter((e) => e.op === op).reduce((a, e) => a + e.value, 0);
  return {
    ID: s.id.slice(0, 12), Container: s.id.slice(0, 12),
    Name: s.name.replace(/^\//, ''),
    CPUPerc: `${cpuPercent(s).toFixed(2)}%`,
    MemUsage: `${binarySize(mem)} / ${binarySize(s.memory_stats.limit)}`,
    MemPerc: `${(s.memory_stats.limit ? mem / s.memory_stats.limit * 100
      : 0).toFixed(2)}%`,
    NetIO: `${humanSize(rx)} / ${humanSize(tx)}`,
    BlockIO: `${humanSize(io('read'))} / ${humanSize(io('write'))}`,
    PIDs: String(s.pids_stats.current),
  };
}

function render(rows: Record<string, string>[], format?: string): string {
  if (format) return rows.map((r) => applyFormat(format, r) + '\n').join('');
  return table([['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT',
    'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'], ...rows.map((r) => [r.ID,
    r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO,
    r.PIDs])]);
}

async function sample(client: Client, ref: string): Promise<StatsDoc> {
  return client.call('GET', `/containers/${q(ref)}/stats?stream=0`);
}

const command: Command = {
  usage: 'stats [OPTIONS] [CONTAINER...]',
  summary: 'Display a live stream of container(s) resource usage ' +
    'statistics',
  flags: [
    { name: 'all', short: 'a', kind: 'bool',
      help: 'Show all containers (default shows just running)' },
    { name: 'no-stream', kind: 'bool',
      help: 'Disable streaming stats and only pull the first result' },
    FORMAT_FLAG,
  ],
  async run(p, ctx) {
    const { client } = ctx;
    const refs = async () => p.args.length ? p.args
      : (await client.call<{ Id: string }[]>('GET',
        `/containers/json${bool(p, 'all') ? '?all=1' : ''}`))
        .map((c) => c.Id);
    const format = str(p, 'format');
    for (;;) {
      // Each sample spans half a second inside the daemon: in parallel.
      const docs = await Promise.all((await refs()).map((r) =>
        sample(client, r)));
      const text = render(docs.map(row), format);
      if (bool(p, 'no-stream')) {
        ctx.out(text || render([], format));
        return 0;
      }
      ctx.out(`\x1b[2J\x1b[H${text}`);
    }
  },
};
export default command;
