// Benchmark: unpack a large layer (a debootstrap'd Debian rootfs) with
// skiff's unpacker and with GNU tar, in the same run, on the same file.
//
//   sudo npx tsx bench/unpack.ts [rounds]
//
// The tarball is built once with debootstrap and cached under .cache/.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR } from '../chapters/01-chroot/rootfs.ts';
import { ImageStore } from '../chapters/04-aufs-overlay/store.ts';
import { unpack } from '../chapters/04-aufs-overlay/unpack.ts';

const TARBALL = join(CACHE_DIR, 'debian-bookworm-minbase.tar');

/** The benchmark's input, built with debootstrap when it is missing. */
export function debianTarball(): string {
  if (existsSync(TARBALL)) return TARBALL;
  const dir = mkdtempSync(join(CACHE_DIR, 'debootstrap-'));
  try {
    execFileSync('debootstrap', ['--variant=minbase', 'bookworm', dir,
      'http://deb.debian.org/debian'], { stdio: 'inherit' });
    const tmp = `${TARBALL}.${process.pid}.tmp`;
    execFileSync('tar', ['--numeric-owner', '--xattrs',
      '--xattrs-include=*', '-C', dir, '-cf', tmp, '.']);
    renameSync(tmp, TARBALL);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return TARBALL;
}

function scratch(): string {
  return mkdtempSync(join(CACHE_DIR, 'bench-unpack-'));
}

function dropCaches(): void {
  execFileSync('sync');
}

async function timeSkiff(file: string): Promise<number> {
  const dir = scratch();
  try {
    dropCaches();
    const t0 = process.hrtime.bigint();
    await unpack({ file }, dir);
    const t1 = process.hrtime.bigint();
    return Number(t1 - t0) / 1e9;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The whole import of a layer: unpack, hash, keep the tar, fsync. */
async function timeStage(file: string): Promise<number> {
  const dir = scratch();
  try {
    dropCaches();
    const store = new ImageStore(dir);
    const t0 = process.hrtime.bigint();
    await store.stageLayer({ file });
    const t1 = process.hrtime.bigint();
    return Number(t1 - t0) / 1e9;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function timeGnuTar(file: string): number {
  const dir = scratch();
  try {
    dropCaches();
    const t0 = process.hrtime.bigint();
    const r = spawnSync('tar', ['--xattrs', '--xattrs-include=*',
      '--numeric-owner', '-xpf', file, '-C', dir]);
    const t1 = process.hrtime.bigint();
    if (r.status !== 0) throw new Error(`gnu tar: ${r.stderr}`);
    return Number(t1 - t0) / 1e9;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[
  Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const file = debianTarball();
  const size = Number(execFileSync('stat', ['-c', '%s', file], {
    encoding: 'utf8' }).trim());
  const skiff: number[] = [], gnu: number[] = [], stage: number[] = [];
  for (let i = 0; i < rounds; i++) { // interleaved: same conditions
    gnu.push(timeGnuTar(file));
    skiff.push(await timeSkiff(file));
    stage.push(await timeStage(file));
  }
  const s = median(skiff), g = median(gnu), st = median(stage);
  console.log(`layer: ${file} (${(size / 2 ** 20).toFixed(0)} MiB)`);
  console.log(`GNU tar -xpf     median ${g.toFixed(3)} s  ` +
    `[${gnu.map((x) => x.toFixed(2)).join(' ')}]`);
  console.log(`skiff unpack()   median ${s.toFixed(3)} s  ` +
    `[${skiff.map((x) => x.toFixed(2)).join(' ')}]`);
  console.log(`skiff stageLayer median ${st.toFixed(3)} s  ` +
    `[${stage.map((x) => x.toFixed(2)).join(' ')}]  (+ keep tar, fsync)`);
  console.log(`ratio skiff/GNU tar: ${(s / g).toFixed(2)}x (goal <= 1.5x)`);
}

await main();
