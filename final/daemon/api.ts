// The daemon's REST API: Docker Engine API v1.43 paths and JSON where
// they overlap, on Node's http server over a unix socket. Requests may
// carry a version prefix (/v1.43/containers/json) or none.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { API_VERSION } from '../paths.ts';
import { frame } from '../stdcopy.ts';
import { humanDuration } from '../format.ts';
import type { Container, Containers } from './containers.ts';
import { createWarnings, publishedPorts } from './containers.ts';
import type { LogEntry } from './logs.ts';
import { readLog } from './logs.ts';
import { BadRequest, Conflict, NotFound, NotModified } from './errors.ts';
import type { Engine } from './engine.ts';
import { descendants } from './runtime.ts';
import { objectRoutes } from './routes-objects.ts';
import { execFileSync } from 'node:child_process';
import { Execs, type ExecInstance } from './execs.ts';
import { containerStats } from './stats.ts';

export interface Req {
  method: string;
  params: string[];
  query: URLSearchParams;
  body: any;
  raw: http.IncomingMessage;
  res: http.ServerResponse;
}

export type Handler = (r: Req) => unknown | Promise<unknown>;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const ID = '([^/]+)';

// #region routes (unused)
// #region routes-containers
export function routes(engine: Engine, execs: Execs): Route[] {
  const cs = engine.containers;
  const c = (r: Req) => cs.get(decodeURIComponent(r.params[0]));
  const r = (method: string, path: string, handler: Handler): Route => ({
    method, pattern: new RegExp(`^${path}$`), handler });
  return [
    r('GET', '/_ping', () => 'OK'),
    r('HEAD', '/_ping', () => 'OK'),
    r('GET', '/version', () => engine.version()),
    r('GET', '/info', () => engine.info()),
    r('GET', '/containers/json', (q) => cs.list()
      .filter((x) => flag(q, 'all') || x.isRunning)
      .map((x) => summary(x))),
    r('POST', '/containers/create', (q) => {
      const created = cs.create(q.body, q.query.get('name') ?? undefined);
      q.res.statusCode = 201;
      return { Id: created.id,
        Warnings: createWarnings(created.rec.HostConfig) };
    }),
    r('GET', `/containers/${ID}/json`, (q) => inspect(engine, c(q),
      execs)),
    r('POST', `/containers/${ID}/start`, (q) => cs.start(c(q))),
// #endregion
    r('POST', `/containers/${ID}/stop`, (q) => cs.stop(c(q),
      num(q, 't'), q.query.get('signal') ?? undefined)),
    r('POST', `/containers/${ID}/restart`, async (q) => {
      const x = c(q);
      await cs.stop(x, num(q, 't')).catch(ignoreNotModified);
      await cs.start(x);
    }),
    r('POST', `/containers/${ID}/kill`, (q) =>
      cs.kill(c(q), q.query.get('signal') || 'SIGKILL')),
    r('POST', `/containers/${ID}/wait`, (q) => wait(cs, c(q), q)),
    r('POST', `/containers/${ID}/resize`, (q) =>
      c(q).io?.resize(num(q, 'h') ?? 0, num(q, 'w') ?? 0)),
    r('DELETE', `/containers/${ID}`, (q) => cs.remove(c(q),
      flag(q, 'force'), flag(q, 'v'))),
    r('GET', `/containers/${ID}/logs`, (q) => logs(c(q), q)),
    r('GET', `/containers/${ID}/top`, (q) => top(engine, c(q), q)),
    r('GET', `/containers/${ID}/stats`, (q) => stats(engine, c(q), q)),
    r('POST', `/containers/${ID}/pause`, (q) => cs.pause(c(q))),
    r('POST', `/containers/${ID}/unpause`, (q) => cs.unpause(c(q))),
    r('POST', `/containers/${ID}/exec`, (q) => {
      q.res.statusCode = 201;
      return { Id: execs.create(c(q), q.body).id };
    }),
    r('POST', `/exec/${ID}/start`, async (q) => {
      // Detached (or a client that does not take the connection over):
      // the process runs, its output goes nowhere.
      await execs.start(execs.get(q.params[0]), null);
    }),
    r('POST', `/exec/${ID}/resize`, (q) => execs.get(q.params[0])
      .resize(num(q, 'h') ?? 0, num(q, 'w') ?? 0)),
    r('GET', `/exec/${ID}/json`, (q) => execs.get(q.params[0]).inspect()),
    r('POST', '/containers/prune', async () => {
      const gone = cs.list().filter((x) => !x.isRunning &&
        !x.rec.State.Restarting);
      for (const x of gone) await cs.remove(x);
      return { ContainersDeleted: gone.map((x) => x.id),
        SpaceReclaimed: 0 };
    }),
    ...objectRoutes(engine),
  ];
}
// #endregion

function flag(r: Req, name: string): boolean {
  const v = r.query.get(name);
  return v !== null && v !== '0' && v !== 'false';
}

function num(r: Req, name: string): number | undefined {
  const v = r.query.get(name);
  return v === null || v === '' ? undefined : Number(v);
}

/**
 * POST /containers/{id}/wait: the headers go out at once, the body when
 * the condition is met. docker's CLI waits for those headers before it
 * sends the start (moby's postContainersWait flushes them likewise).
 */
async function wait(cs: Containers, x: Container, q: Req): Promise<void> {
  const res = q.res;
  const done = cs.wait(x, q.query.get('condition') ?? undefined);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const code = await done;
  res.end(JSON.stringify({ StatusCode: code, Error: null }) + '\n');
}

function ignoreNotModified(err: unknown): void {
  if (!(err instanceof NotModified)) throw err;
}

// #region status
/** docker ps's STATUS column, which the daemon computes. */
export function statusText(x: Container, now = Date.now()): string {
  const st = x.rec.State;
  const ago = (t: string) => `${humanDuration(now - Date.parse(t))} ago`;
  if (st.Restarting) return `Restarting (${st.ExitCode}) ${ago(st.FinishedAt)}`;
  if (st.Running) {
    const up = `Up ${humanDuration(now - Date.parse(st.StartedAt))}`;
    return st.Paused ? `${up} (Paused)` : up;
  }
  if (st.Status === 'created') return 'Created';
  if (st.Status === 'dead') return 'Dead';
  return `Exited (${st.ExitCode}) ${ago(st.FinishedAt)}`;
}
// #endregion

function summary(x: Container) {
  const rec = x.rec;
  return {
    Id: rec.Id, Names: [rec.Name], Image: rec.Config.Image,
    ImageID: rec.Image, Command: [rec.Path, ...rec.Args].join(' '),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: ports(x), Labels: rec.Config.Labels ?? {},
    State: rec.State.Status, Status: statusText(x),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode || 'default' },
    NetworkSettings: { Networks: {} },
    Mounts: rec.Mounts,
  };
}

function ports(x: Container) {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number;
    Type: string }[] = [];
  for (const [key, binds] of Object.entries(
    publishedPorts(x.rec.HostConfig))) {
    const [port, proto = 'tcp'] = key.split('/');
    for (const b of binds ?? []) {
      out.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port),
        PublicPort: Number(b.HostPort) || undefined, Type: proto });
    }
  }
  return out;
}

function inspect(engine: Engine, x: Container, execs: Execs) {
  const { PidStartTime, StepData, ...rec } = x.rec;
  void PidStartTime; void StepData;
  const ip = x.isRunning ? engine.runtime.address(x.id) ?? '' : '';
  const net = rec.HostConfig.NetworkMode || 'default';
  const name = net === 'default' ? 'bridge' : net;
  const files = (f: string) => `${x.dir}/net/${f}`;
  const ids = execs.of(x);
  return {
    ...rec, ResolvConfPath: files('resolv.conf'),
    HostnamePath: files('hostname'), HostsPath: files('hosts'),
    MountLabel: '', ProcessLabel: '', AppArmorProfile: '',
    ExecIDs: ids.length ? ids : null,
    GraphDriver: { Name: 'overlay2', Data: { MergedDir:
      x.spec().root.path } },
    NetworkSettings: {
      Ports: portMap(x), IPAddress: ip, IPPrefixLen: ip ? 24 : 0,
      Networks: ip ? { [name]: { IPAddress: ip } } : {},
    },
  };
}

/** docker inspect's NetworkSettings.Ports: "80/tcp" -> host bindings. */
function portMap(x: Container) {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports(x)) {
    (out[`${p.PrivatePort}/${p.Type}`] ??= []).push({
      HostIp: p.IP ?? '0.0.0.0', HostPort: String(p.PublicPort ?? '') });
  }
  return out;
}

// #region logs (unused)
/**
 * GET /containers/{id}/logs: what is in the json-file log (the last
 * `tail`), then with follow=1 what comes until the container stops.
 * Without a terminal the streams are multiplexed (stdcopy frames).
 */
// #region logs-read
function logs(x: Container, q: Req): Promise<void> {
  const tty = !!x.rec.Config.Tty;
  const want = { stdout: flag(q, 'stdout'), stderr: flag(q, 'stderr') };
  const ts = flag(q, 'timestamps');
  const tailText = q.query.get('tail');
  const tail = !tailText || tailText === 'all' ? undefined : Number(tailText);
  const res = q.res;
  res.writeHead(200, { 'Content-Type': tty
    ? 'application/vnd.docker.raw-stream'
    : 'application/vnd.docker.multiplexed-stream' });
  const send = (e: LogEntry) => {
    if (!want[e.stream]) return;
    const payload = Buffer.from(ts ? `${e.time} ${e.log}` : e.log);
    res.write(tty ? payload : frame(e.stream, payload));
  };
  for (const e of readLog(x.rec.LogPath, tail)) send(e);
  if (!flag(q, 'follow') || !(x.isRunning || x.rec.State.Restarting)) {
    res.end();
    return Promise.resolve();
  }
// #endregion
  return new Promise((resolve) => {
    const onEntry = (e: LogEntry) => {
      if (!ts) return send(e);
      for (const log of e.log.split(/(?<=\n)/)) send({ ...e, log });
    };
    const done = () => {
      x.log.off('entry', onEntry);
      x.off('exit', done);
      x.off('removed', done);
      res.end();
      resolve();
    };
    x.log.on('entry', onEntry);
    x.once('exit', () => { if (!x.rec.State.Restarting) done(); });
    x.once('removed', done);
    res.on('close', done);
  });
}
// #endregion

// #region top
/** `docker top`: the host's ps, kept to the container's cgroup. */
function top(engine: Engine, x: Container, q: Req) {
  if (!x.isRunning || !x.running) {
    throw new Conflict(`Container ${x.id} is not running`);
  }
  const args = (q.query.get('ps_args') || '-ef').split(/\s+/);
  let pids: number[];
  try {
    pids = engine.runtime.cgroup(x.spec(), x.id).procs();
  } catch {
    pids = descendants(x.running.pid);
  }
  const out = execFileSync('ps', [...args], { encoding: 'utf8' })
    .trimEnd().split('\n');
  const titles = out[0].trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  const rows = out.slice(1).map((l) => {
    const cells = l.trim().split(/\s+/);
    const head = cells.slice(0, titles.length - 1);
    return [...head, cells.slice(titles.length - 1).join(' ')];
  }).filter((row) => pids.includes(Number(row[pidCol])));
  return { Titles: titles, Processes: rows };
}
// #endregion

/** GET /containers/{id}/stats: one sample, or one a second. */
async function stats(engine: Engine, x: Container, q: Req): Promise<void> {
  const stream = q.query.get('stream') !== '0' &&
    q.query.get('stream') !== 'false';
  const res = q.res;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let closed = false;
  res.on('close', () => { closed = true; });
  let prev = containerStats(engine, x);
  do {
    await new Promise((r) => setTimeout(r, stream ? 1000 : 500));
    const now = containerStats(engine, x, prev);
    res.write(JSON.stringify(now) + '\n');
    prev = now;
  } while (stream && !closed && x.isRunning);
  res.end();
}

// #region attach (unused)
/**
 * POST /containers/{id}/attach with `Connection: Upgrade`: answer 101,
 * then the socket carries the container's output (raw with a terminal,
 * stdcopy frames without) and, with stdin=1, its input.
 */
// #region attach-output
export function attach(engine: Engine, req: http.IncomingMessage,
  socket: Duplex, query: URLSearchParams, id: string): void {
  const x = engine.containers.get(id);
  const tty = !!x.rec.Config.Tty;
  socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: ' +
    `application/vnd.docker.${tty ? 'raw' : 'multiplexed'}-stream\r\n` +
    'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  const on = (n: string) => query.get(n) === '1' || query.get(n) === 'true';
  const onEntry = (e: LogEntry) => {
    if ((e.stream === 'stdout' && on('stdout')) ||
      (e.stream === 'stderr' && on('stderr'))) {
      const data = Buffer.from(e.log);
      socket.write(tty ? data : frame(e.stream, data));
    }
  };
  x.log.on('entry', onEntry);
// #endregion
  const done = () => {
    x.log.off('entry', onEntry);
    x.off('exit', done);
    socket.end();
  };
  x.once('exit', done);
  socket.on('close', () => {
    x.log.off('entry', onEntry);
    x.off('exit', done);
  });
  socket.on('error', () => {});
  if (on('stdin') && x.rec.Config.OpenStdin) {
    // `run -i` attaches before it starts the container: what the client
    // sends meanwhile waits in the socket until there is a stdin.
    const hook = () => {
      socket.on('data', (d: Buffer) => x.io?.stdin?.write(d));
      socket.on('end', () => {
        if (x.rec.Config.StdinOnce) x.io?.closeStdin();
      });
    };
    if (x.io?.stdin) hook();
    else x.once('start', hook);
  }
  void req;
}
// #endregion

// #region server (unused)
// #region server-upgrade
export function createServer(engine: Engine): http.Server {
  const execs = new Execs(engine.containers, engine.runtime);
  const table = routes(engine, execs);
  const server = http.createServer((req, res) => {
    void handle(table, req, res);
  });
  server.on('upgrade', (req, socket: Duplex) => {
    const url = new URL(req.url ?? '/', 'http://skiff');
    const path = url.pathname.replace(/^\/v[\d.]+/, '');
    const m = /^\/containers\/([^/]+)\/attach$/.exec(path);
    const e = /^\/exec\/([^/]+)\/start$/.exec(path);
    void (async () => {
      if (e) return execStart(execs, execs.get(e[1]), socket);
      if (!m) throw new BadRequest(`page not found: ${path}`);
      attach(engine, req, socket, url.searchParams, decodeURIComponent(m[1]));
    })().catch((err) => {
      const status = (err as { status?: number }).status ?? 500;
      const body = errorBody(err);
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json\r\nContent-Length: ' +
        `${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
  return server;
}
// #endregion

/** Starts an exec on a connection taken over from HTTP (hijacked). */
async function execStart(execs: Execs, x: ExecInstance, socket: Duplex)
  : Promise<void> {
  const ok = 'HTTP/1.1 101 UPGRADED\r\nContent-Type: ' +
    `application/vnd.docker.${x.config.Tty ? 'raw' : 'multiplexed'}` +
    '-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';
  try {
    await execs.start(x, socket, ok);
  } catch (err) {
    if (x.exitCode === null) throw err;
    // A command that cannot run (126, 127): as moby, the 101 all the
    // same, the error in the stream, the code in GET /exec/{id}/json.
    // (docker's CLI reads no body of a refused upgrade.)
    const text = Buffer.from(`${(err as Error).message}\n`);
    socket.end(Buffer.concat([Buffer.from(ok),
      x.config.Tty ? text : frame('stderr', text)]));
  }
}

/** docker's error body, with the exit code a CLI should exit with. */
function errorBody(err: unknown, req?: http.IncomingMessage): string {
  const code = (err as { exitCode?: number }).exitCode;
  let message = (err as Error).message;
  if (code === 127 && /^Docker-Client\//.test(req?.headers['user-agent'] ??
    '')) message = dockerWords(message);
  return JSON.stringify({ message,
    ...(typeof code === 'number' ? { exitCode: code } : {}) });
}

/**
 * docker's CLI finds `run`'s exit code 127 in the words of the error
 * ("executable file not found", "no such file or directory"), not in a
 * field: it gets runc's words. (skiff's CLI reads exitCode.)
 */
function dockerWords(message: string): string {
  return message
    .replace(/": not found in \$PATH/, '": executable file not found in $PATH')
    .replace(/": no such file(?! or)/, '": no such file or directory');
}

// #region dispatch
async function handle(table: Route[], req: http.IncomingMessage,
  res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://skiff');
  const path = url.pathname.replace(/^\/v[\d.]+/, '');
  res.setHeader('Api-Version', API_VERSION);
  res.setHeader('Ostype', 'linux');
  // The classic builder (POST /build): docker's CLI then does not try
  // BuildKit's session protocol, which skiff does not speak.
  res.setHeader('Builder-Version', '1');
  res.setHeader('Server', `skiff (linux)`);
  try {
    let params: string[] | undefined;
    const route = table.find((rt) => rt.method === req.method &&
      (params = rt.pattern.exec(path)?.slice(1)) !== undefined);
    if (!route) {
      throw new NotFound('page not found');
    }
    const body = await readBody(req);
    const out = await route.handler({ method: req.method!, params: params!,
      query: url.searchParams, body, raw: req, res });
    if (res.headersSent) return;
    if (typeof out === 'string') {
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(out);
    } else if (out === undefined) {
      res.statusCode = res.statusCode === 200 ? 204 : res.statusCode;
      res.end();
    } else {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(out) + '\n');
// #endregion
    }
  } catch (err) {
    const status = (err as { status?: number }).status ?? 500;
    if (res.headersSent) return void res.end();
    res.statusCode = status;
    if (status === 304) return void res.end();
    res.setHeader('Content-Type', 'application/json');
    res.end(errorBody(err, req) + '\n');
    if (status === 500 && process.env.SKIFF_DEBUG) console.error(err);
  }
}

/** Where the body is a tar, whatever Content-Type a client sends. */
const RAW_BODY = new RegExp('/(build|images/load|images/create|' +
  'containers/[^/]+/archive)$');

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  // A tar (build, load, import, cp) is the handler's to stream: q.raw.
  // docker-py sends application/tar, docker's CLI x-tar or nothing.
  const type = req.headers['content-type'] ?? '';
  const path = (req.url ?? '').split('?')[0];
  if (/^application\/(x-tar|tar|octet-stream)/.test(type) ||
    RAW_BODY.test(path)) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('invalid JSON in the request body');
  }
}
// #endregion

export type { Containers };
