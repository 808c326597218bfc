// Bytes in a tree as docker counts them (moby's pkg/directory.Size):
// the sizes of everything but directories, a hard-linked file once.
// `cp` reports it, `system df` sums layers, containers and volumes by it.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function treeSize(path: string,
  seen = new Set<string>()): number {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) {
    const inode = `${st.dev}:${st.ino}`;
    if (st.nlink > 1 && seen.has(inode)) return 0;
    seen.add(inode);
    return st.size;
  }
  let entries: string[] = [];
  try {
    entries = readdirSync(path);
  } catch { /* gone, or unreadable: counts nothing */ }
  return entries.reduce((n, e) => n + treeSize(join(path, e), seen), 0);
}
