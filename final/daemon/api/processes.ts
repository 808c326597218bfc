// What runs in a container: `docker top` and `docker stats`.
import { spawnSync } from 'node:child_process';
import type { Container } from '../container/container.ts';
import type { Engine } from '../engine.ts';
import { descendants } from '../runtime.ts';
import { containerStats } from '../stats.ts';
import { BadRequest, Conflict } from '../errors.ts';
import { flag, type Req } from './route.ts';

// #region top
/** `docker top`: the host's ps, kept to the container's cgroup. */
export function top(engine: Engine, container: Container, request: Req) {
  if (!container.isRunning || !container.running) {
    throw new Conflict(`Container ${container.id} is not running`);
  }
  const args = (request.query.get('ps_args') || '-ef').split(/\s+/);
  let pids: number[];
  try {
    pids = engine.runtime.cgroup(container.spec(), container.id).procs();
  } catch {
    pids = descendants(container.running.pid);
  }
  engine.containers.event(container, 'top');
  const lines = ps(args);
  const titles = lines[0].trim().split(/\s+/);
  const pidColumn = titles.indexOf('PID');
  const rows = lines.slice(1).map((line) => {
    const cells = line.trim().split(/\s+/);
    const head = cells.slice(0, titles.length - 1);
    return [...head, cells.slice(titles.length - 1).join(' ')];
  }).filter((row) => pids.includes(Number(row[pidColumn])));
  return { Titles: titles, Processes: rows };
}
// #endregion

/**
 * The host's ps with the client's ps_args: arguments ps refuses are
 * the client's error, answered with ps's first words (dockerd's 500
 * "ps: error: unknown gnu long option", as a 400).
 */
function ps(args: string[]): string[] {
  const r = spawnSync('ps', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n')[0];
    throw new BadRequest(`ps: ${why}`);
  }
  return r.stdout.trimEnd().split('\n');
}

/** GET /containers/{id}/stats: one sample, or one a second. */
export async function stats(engine: Engine, container: Container,
  request: Req): Promise<void> {
  // docker-py sends stream=False: moby's BoolValueOrDefault reads it
  const stream = flag(request, 'stream', true);
  // one-shot (API 1.41): the one sample at once, without a previous one
  const oneShot = !stream && flag(request, 'one-shot');
  const res = request.res;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let closed = false;
  res.on('close', () => { closed = true; });
  let previous = containerStats(engine, container);
  do {
    await new Promise((resolve) => setTimeout(resolve,
      stream ? 1000 : oneShot ? 0 : 500));
    const now = containerStats(engine, container, previous);
    res.write(JSON.stringify(now) + '\n');
    previous = now;
  } while (stream && !closed && container.isRunning);
  res.end();
}
