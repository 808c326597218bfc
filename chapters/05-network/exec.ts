// The network is configured with the same tools an administrator types:
// iproute2's `ip` for links, addresses and routes, and `iptables` for
// NAT and filtering. Early Docker did the same. Each call sends a whole
// batch (`ip -batch -`, `iptables-restore --noflush`) so that plugging in
// a container costs a handful of process starts, not dozens.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export class CommandError extends Error {
  constructor(message: string, readonly stderr: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Runs a command, feeding `input`; throws its first stderr line. */
export function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, {
    input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (r.error) {
    throw new CommandError(`${cmd}: ${r.error.message}`, '');
  }
  if (r.status !== 0) {
    const err = (r.stderr || r.stdout || '').trim();
    const line = err.split('\n').find((l) => l.trim()) ?? `exit ${r.status}`;
    throw new CommandError(`${cmd} ${args.join(' ')}: ${line}`, err);
  }
  return r.stdout;
}

// #region ip-batch
/**
 * Runs `ip` commands, one per line, in one process. With `pid`, the
 * batch runs inside that process's network namespace: nsenter(1) opens
 * /proc/PID/ns/net, calls setns(2) and executes `ip` there.
 */
export function ipBatch(lines: string[], pid?: number): void {
  if (lines.length === 0) return;
  const input = lines.join('\n') + '\n';
  if (pid === undefined) run('ip', ['-batch', '-'], input);
  else run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-batch', '-'],
    input);
}
// #endregion

/** `ip` with arguments; the output. */
export function ip(...args: string[]): string {
  return run('ip', args);
}

/** Is there a network interface of this name on the host? */
export function linkExists(name: string): boolean {
  return spawnSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' })
    .status === 0;
}

/** Deletes a link; a link that is already gone is fine. */
export function deleteLink(name: string): void {
  // Usually there is none: a veth goes with its container's network
  // namespace. sysfs says so without starting `ip` (twice, below).
  if (!existsSync(`/sys/class/net/${name}`)) return;
  const r = spawnSync('ip', ['link', 'del', 'dev', name], {
    encoding: 'utf8',
  });
  if (r.status !== 0 && linkExists(name)) {
    throw new CommandError(`ip link del ${name}: ${r.stderr.trim()}`,
      r.stderr);
  }
}

// #region iptables-restore
/**
 * Applies rules atomically: `iptables-restore --noflush` reads the
 * iptables-save format (`*nat`, `-A CHAIN ...`, `COMMIT`) and changes
 * only the rules it names. `-w` waits for another writer's lock.
 */
export function iptablesApply(tables: Record<string, string[]>): void {
  const text = Object.entries(tables)
    .filter(([, lines]) => lines.length > 0)
    .map(([table, lines]) => `*${table}\n${lines.join('\n')}\nCOMMIT\n`)
    .join('');
  if (text) run('iptables-restore', ['--noflush', '-w', '5'], text);
}
// #endregion

export interface IptablesSnapshot {
  /** Chain names per table. */
  chains: Record<string, Set<string>>;
  /** `-A CHAIN ...` lines per table, as iptables-save prints them. */
  rules: Record<string, string[]>;
}

/** Every table's chains and rules, from one iptables-save. */
export function iptablesSnapshot(): IptablesSnapshot {
  const snap: IptablesSnapshot = { chains: {}, rules: {} };
  let table = '';
  for (const line of run('iptables-save', []).split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1);
      snap.chains[table] = new Set();
      snap.rules[table] = [];
    } else if (line.startsWith(':')) {
      snap.chains[table].add(line.slice(1).split(' ')[0]);
    } else if (line.startsWith('-A ')) {
      snap.rules[table].push(line);
    }
  }
  for (const t of ['nat', 'filter']) {
    snap.chains[t] ??= new Set();
    snap.rules[t] ??= [];
  }
  return snap;
}
