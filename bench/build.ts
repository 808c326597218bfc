// Benchmark: `build` of one six-step Dockerfile, cold (--no-cache) and
// rebuilt with a warm cache, by skiff and by docker's classic builder
// (DOCKER_BUILDKIT=0), in the same run on the same context. Medians,
// and skiff's time as a ratio of docker's.
//
//   sudo npx tsx bench/build.ts [rounds]
//
// skiff gets an engine of its own (state root, socket, bridge, cgroup
// parent), removed at the end, and is timed three ways: its bundled CLI
// (final/skiff.mjs, as users run it), the daemon's POST /build alone
// (the context packed once, sent over the socket), and the CLI's
// start-up without a build (`version`). docker is the daemon that
// answers, or a private dockerd (bench/engines.ts); its busybox is
// loaded from skiff's `save`: nothing is pulled.
import {
  mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { packContext } from '../final/build/context.ts';
import { API_VERSION } from '../final/paths.ts';
import { REPO } from '../support/testing.ts';
import { docker, type Engine } from './engines.ts';
import { benchPlace, median, times as timesOf } from './place.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const place = benchPlace('skiff-bench-build-', 'skbbench');
const { dir, sock, run } = place;
const TSX = import.meta.resolve('tsx/esm');
const loadBefore = loadavg();

/** The issue's six steps: 200 small files, then 20 MB written by RUN. */
const DOCKERFILE = `FROM busybox
ENV APP=/app
WORKDIR /app
COPY files/ ./files/
RUN dd if=/dev/zero of=/big bs=1M count=20
CMD ["ls", "/app/files"]
`;

/** The build context: the Dockerfile and files/0 ... files/199. */
function makeContext(): string {
  const ctx = join(dir, 'context');
  mkdirSync(join(ctx, 'files'), { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  for (let i = 0; i < 200; i++) {
    writeFileSync(join(ctx, 'files', String(i)), `file ${i}\n`.repeat(20));
  }
  return ctx;
}

/** Wall-clock ms of `fn`, ROUNDS times after one untimed run. */
const times = (fn: () => unknown) => timesOf(ROUNDS, fn, 1);

const skiffTsx = (...args: string[]) => run(process.execPath,
  ['--import', TSX, join(REPO, 'final/cli.ts'), ...args]);
const skiffJs = (...args: string[]) => run(process.execPath,
  [join(REPO, 'final/skiff.mjs'), ...args]);

/**
 * POST /build with a context packed beforehand: the daemon's part of a
 * build, without the CLI's start-up and packing. Fails on an error line.
 */
function apiBuild(tar: Buffer, nocache: boolean): Promise<void> {
  const path = `/v${API_VERSION}/build?t=bench-api` +
    (nocache ? '&nocache=1' : '');
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method: 'POST', path,
      headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => /"error"/.test(text) || res.statusCode !== 200
        ? reject(new Error(`POST /build: ${text.slice(-300)}`))
        : resolve());
    });
    req.on('error', reject);
    req.end(tar);
  });
}

type Row = [string, number[] | string];

/** skiff's rows: CLI cold and warm, the API alone, the CLI's start. */
async function skiffRows(ctx: string): Promise<Row[]> {
  const build = (...flags: string[]) => () => skiffJs('build', ...flags,
    '-t', 'bench', ctx);
  const cold = await times(build('--no-cache'));
  const warm = await times(build());
  if ((skiffJs('build', ctx).match(/Using cache/g)?.length ?? 0) !== 5) {
    throw new Error('skiff: the warm rebuild did not use the cache');
  }
  const file = packContext(ctx, 'Dockerfile');
  const tar = readFileSync(file);
  rmSync(join(file, '..'), { recursive: true, force: true });
  const apiCold = await times(() => apiBuild(tar, true));
  const apiWarm = await times(() => apiBuild(tar, false));
  const start = await times(() => skiffJs('version'));
  return [['skiff build --no-cache (skiff.mjs)', cold],
    ['skiff build, cached (skiff.mjs)', warm],
    ['skiff POST /build --no-cache (API)', apiCold],
    ['skiff POST /build, cached (API)', apiWarm],
    ['skiff.mjs version (CLI start-up)', start]];
}

/** docker's rows: classic builder, cold and warm; then it stops. */
async function dockerRows(found: Engine | string, ctx: string)
  : Promise<Row[]> {
  const names = ['docker build --no-cache (classic)',
    'docker build, cached (classic)'];
  if (typeof found === 'string') return names.map((n) => [n, found]);
  const e = found;
  const denv = { ...e.env, DOCKER_BUILDKIT: '0' };
  const cli = (...args: string[]) => run(e.cli, [...e.global, ...args],
    { env: denv });
  try {
    const tar = join(dir, 'busybox.tar');
    skiffJs('save', '-o', tar, 'busybox');
    cli('load', '-i', tar);
    const build = (...flags: string[]) => () => cli('build', ...flags,
      '-t', 'bench', ctx);
    const cold = await times(build('--no-cache'));
    const warm = await times(build());
    if ((cli('build', ctx).match(/Using cache/g)?.length ?? 0) !== 5) {
      throw new Error('docker: the warm rebuild did not use the cache');
    }
    return [[names[0], cold], [names[1], warm]];
  } finally {
    await e.stop();
  }
}

function report(rows: Row[]): void {
  const med = (name: string) => {
    const r = rows.find(([n]) => n === name)?.[1];
    return Array.isArray(r) ? median(r) : undefined;
  };
  const base: Record<string, number | undefined> = {
    cold: med('docker build --no-cache (classic)'),
    warm: med('docker build, cached (classic)') };
  const fmt = (ms: number) => (ms / 1000).toFixed(3).padStart(8);
  console.log(`build of a 6-step Dockerfile (200 files, 20 MB RUN), ` +
    `${ROUNDS} rounds, medians (s); load average ${loadBefore
      .map((l) => l.toFixed(1)).join(' ')} before, ${loadavg()
      .map((l) => l.toFixed(1)).join(' ')} after\n`);
  console.log(`${'what'.padEnd(40)}${'median'.padStart(8)}` +
    `${'min'.padStart(8)}${'vs docker'.padStart(11)}`);
  for (const [name, r] of rows) {
    if (!Array.isArray(r)) {
      console.log(`${name.padEnd(40)}  ${r}`);
      continue;
    }
    const m = median(r);
    const b = /cache/.test(name) && !/no-cache/.test(name) ? base.warm
      : /no-cache/.test(name) ? base.cold : undefined;
    console.log(`${name.padEnd(40)}${fmt(m)}${fmt(Math.min(...r))}` +
      `${(b ? `${(m / b).toFixed(2)}x` : '-').padStart(11)}`);
  }
}

async function main(): Promise<void> {
  const ctx = makeContext();
  skiffTsx('version'); // starts the daemon (and builds skiff.mjs)
  skiffJs('version');
  const rows = await skiffRows(ctx);
  rows.push(...await dockerRows(await docker(place), ctx));
  report(rows);
}

main().catch((err) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exitCode = 1;
}).finally(place.cleanUp);
