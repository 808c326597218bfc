// `state ID`, `list` and `ps ID`: what the store and the kernel say.
import { spawnSync } from 'node:child_process';
import { openCgroup } from '../../chapters/03-cgroups/cgroups/manager.ts';
import type { OciState, Store } from './store.ts';

/**
 * `state ID`: the spec's state document, indented as runc prints it,
 * with runc's extra fields (rootfs, created, owner) after it.
 */
export function state(store: Store, id: string): string {
  const s = store.load(id);
  return JSON.stringify({ ...store.ociState(s), rootfs: s.spec.root.path,
    created: s.created, owner: '' }, null, 2);
}

interface Listed extends OciState {
  rootfs: string;
  created: string;
  owner: string;
}

/** `list [--format json]`: runc's table, or its JSON (null for none). */
export function list(store: Store, format = 'table'): string {
  const rows: Listed[] = store.ids().flatMap((id) => {
    try {
      const s = store.load(id);
      return [{ ...store.ociState(s), rootfs: s.spec.root.path,
        created: s.created, owner: 'root' }];
    } catch {
      return [];
    }
  });
  if (format === 'json') return JSON.stringify(rows.length ? rows : null);
  const table = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
    ...rows.map((r) => [r.id, String(r.pid), r.status, r.bundle,
      r.created, r.owner])];
  const widths = table[0].map((_, i) =>
    Math.max(...table.map((row) => row[i].length)));
  return table.map((row) => row.map((cell, i) =>
    cell.padEnd(widths[i])).join('   ').trimEnd()).join('\n');
}

/** `ps ID`: the pids in its cgroup, as JSON or as ps(1) shows them. */
export function ps(store: Store, id: string, format = 'table',
  psArgs: string[] = []): string {
  const pids = openCgroup(store.load(id).cgroup).procs();
  if (format === 'json') return JSON.stringify(pids);
  const r = spawnSync('ps', psArgs.length ? psArgs : ['-ef'],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ps: ${r.stderr || r.error}`);
  const [head, ...lines] = r.stdout.trimEnd().split('\n');
  const col = head.trim().split(/\s+/).indexOf('PID');
  return [head, ...lines.filter((l) =>
    pids.includes(Number(l.trim().split(/\s+/)[col])))].join('\n');
}
