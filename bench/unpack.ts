// Benchmark: unpack a large layer (a debootstrap'd Debian rootfs) with
// skiff's unpacker and with GNU tar, in the same run, on the same file.
//
//   sudo npx tsx bench/unpack.ts [rounds] [--tmpfs]
//
// The tarball is built once with debootstrap and cached under .cache/.
// Trees are written under .cache/ (the disk), or with --tmpfs to a tmpfs,
// which takes the disk's writeback (and other users of it) out of the
// numbers. CPU time is shown next to wall time for the same reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnce, CACHE_DIR } from '../chapters/01-chroot/rootfs.ts';
import { procStat, USER_HZ } from '../chapters/02-namespaces/procfs.ts';
import { ImageStore } from '../chapters/04-aufs-overlay/store.ts';
import { unpack } from '../chapters/04-aufs-overlay/unpack.ts';

const TARBALL = join(CACHE_DIR, 'debian-bookworm-minbase.tar');

/** The benchmark's input, built with debootstrap when it is missing. */
export function debianTarball(): string {
  return buildOnce(TARBALL, TARBALL, (tmp) => {
    const dir = mkdtempSync(join(CACHE_DIR, 'debootstrap-'));
    try {
      execFileSync('debootstrap', ['--variant=minbase', 'bookworm', dir,
        'http://deb.debian.org/debian'], { stdio: 'inherit' });
      execFileSync('tar', ['--numeric-owner', '--xattrs',
        '--xattrs-include=*', '-C', dir, '-cf', tmp, '.']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Where the trees are written: the disk under .cache/, or a tmpfs. */
let base = CACHE_DIR;

function scratch(): string {
  return mkdtempSync(join(base, 'bench-unpack-'));
}

/** Flushes the last round's writes so that each run starts alike. */
function settle(): void {
  execFileSync('sync');
}

interface Timing {
  wall: number;
  /** user + system CPU seconds of the unpacking process. */
  cpu: number;
  /** ... of its main thread alone: skiff hashes on a second one. */
  main: number;
}

/** CPU seconds of the calling thread so far (proc(5), utime + stime). */
function threadCpu(): number {
  const stat = procStat('thread-self')!;
  return (stat.utime + stat.stime) / USER_HZ;
}

async function measure(fn: () => Promise<unknown>): Promise<Timing> {
  const c0 = process.cpuUsage();
  const m0 = threadCpu();
  const t0 = process.hrtime.bigint();
  await fn();
  const t1 = process.hrtime.bigint();
  const c = process.cpuUsage(c0);
  return { wall: Number(t1 - t0) / 1e9, cpu: (c.user + c.system) / 1e6,
    main: threadCpu() - m0 };
}

async function timeSkiff(file: string): Promise<Timing> {
  const dir = scratch();
  try {
    settle();
    return await measure(() => unpack({ file }, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The whole import of a layer: unpack, hash, keep the tar, fsync. */
async function timeStage(file: string): Promise<Timing> {
  const dir = scratch();
  try {
    settle();
    const store = new ImageStore(dir, 'overlay');
    return await measure(() => store.stageLayer({ file }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GNU tar with what a faithful layer needs: owners, modes, xattrs. */
function timeGnuTar(file: string): Timing {
  const dir = scratch();
  try {
    settle();
    // bash's `time` reports the child's CPU, which Node cannot see
    const t0 = process.hrtime.bigint();
    const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%U %S"; time tar ' +
      '--xattrs --xattrs-include="*" --numeric-owner -xpf "$0" -C "$1"',
    file, dir], { encoding: 'utf8' });
    const t1 = process.hrtime.bigint();
    if (r.status !== 0) throw new Error(`gnu tar: ${r.stderr}`);
    const [user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ')
      .map(Number);
    return { wall: Number(t1 - t0) / 1e9, cpu: user + sys, main: user + sys };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[
  Math.floor(xs.length / 2)];

function row(name: string, ts: Timing[], ref?: Timing[]): string {
  const cell = (k: keyof Timing) => {
    const v = median(ts.map((t) => t[k]));
    const r = ref && v / median(ref.map((t) => t[k]));
    return `${v.toFixed(2).padStart(6)} ${r ? `${r.toFixed(2)}x` : '     '}`;
  };
  return `${name.padEnd(17)}${cell('wall')} ${cell('cpu')} ${cell('main')}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const onTmpfs = args.includes('--tmpfs');
  const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
  const file = debianTarball();
  const size = Number(execFileSync('stat', ['-c', '%s', file], {
    encoding: 'utf8' }).trim());
  if (onTmpfs) { // the unpacker's own cost, without the disk's noise
    base = mkdtempSync(join(CACHE_DIR, 'bench-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2g', 'bench', base]);
  }
  const skiff: Timing[] = [], gnu: Timing[] = [], stage: Timing[] = [];
  try {
    for (let i = 0; i < rounds; i++) { // interleaved: same conditions
      gnu.push(timeGnuTar(file));
      skiff.push(await timeSkiff(file));
      stage.push(await timeStage(file));
    }
  } finally {
    if (onTmpfs) {
      execFileSync('umount', [base]);
      rmSync(base, { recursive: true });
    }
  }
  console.log(`layer: ${file} (${(size / 2 ** 20).toFixed(0)} MiB), ` +
    `written to ${onTmpfs ? 'tmpfs' : 'disk'}, median of ${rounds}`);
  console.log(`${''.padEnd(17)}  wall s ratio   cpu s ratio  main s ratio`);
  console.log(row('GNU tar -xpf', gnu));
  console.log(row('skiff unpack()', skiff, gnu));
  console.log(row('skiff stageLayer', stage, gnu));
  console.log('main: CPU of the main thread (skiff hashes on a second ' +
    'one); stageLayer:\nunpack + keep the tar + fsync. Each: ' +
    `[${skiff.map((t) => t.wall.toFixed(2)).join(' ')}] s (unpack wall)`);
}

await main();
