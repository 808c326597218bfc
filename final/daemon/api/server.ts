// The daemon's REST API: Docker Engine API v1.43 paths and JSON where
// they overlap, on Node's http server over a unix socket. Requests may
// carry a version prefix (/v1.43/containers/json) or none.
import http from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { plain } from '../../../chapters/01-chroot/kernel.ts';
import { API_VERSION } from '../../paths.ts';
import type { Engine } from '../engine.ts';
import { answerOf, BadRequest, NotFound } from '../errors.ts';
import { errorBody } from './error-body.ts';
import { checkQuery } from './query.ts';
import { MAX_JSON_BODY } from '../limits.ts';
import { checkBody } from './schemas.ts';
import { checkPath, type Route } from './route.ts';
import { routes } from './routes.ts';
import { upgradeRouter } from './upgrade.ts';

export function createServer(engine: Engine): http.Server {
  const execs = engine.containers.execs;
  const table = routes(engine, execs);
  const server = http.createServer((req, res) => {
    // The last net: an answer that cannot even be sent (a status Node
    // refuses) drops this connection, never the daemon.
    handle(table, req, res).catch((err) => {
      console.error(`skiff daemon: ${req.method} ${req.url}: ` +
        'no answer sent:', err);
      res.destroy();
    });
  });
  server.on('upgrade', upgradeRouter(engine, execs));
  return server;
}

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
  // #region dispatch
  try {
    let params: string[] | undefined;
    const found = table.find((route) => route.method === req.method &&
      (params = route.pattern.exec(path)?.slice(1)) !== undefined);
    if (!found) throw new NotFound('page not found');
    checkPath(path);
    checkQuery(req.method!, path, url.searchParams);
    const body = await readBody(req);
    checkBody(req.method!, path, body);
    const out = await found.handler({ method: req.method!,
      params: params!, query: url.searchParams, body, raw: req, res });
    if (res.headersSent) return;
    send(res, out);
  } catch (caught) {
    const { status, err, logged } = answerOf(caught,
      `${req.method} ${path}`);
    // A 500 is the daemon's own fault: its stack goes to the daemon log.
    if (logged) console.error(`skiff daemon: ${req.method} ${path}:`, caught);
    if (res.headersSent) return void res.end();
    res.statusCode = status;
    if (status === 304) return void res.end();
    res.setHeader('Content-Type', 'application/json');
    res.end(errorBody(err, req) + '\n');
  }
  // #endregion
}

/** A route's answer: text, nothing (204), or JSON. */
function send(res: http.ServerResponse, out: unknown): void {
  if (typeof out === 'string') {
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(out);
  } else if (out === undefined) {
    res.statusCode = res.statusCode === 200 ? 204 : res.statusCode;
    res.end();
  } else {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(out) + '\n');
  }
}

/** Where the body is a tar, whatever Content-Type a client sends. */
const RAW_BODY = new RegExp('/(build|images/load|images/create|' +
  'containers/[^/]+/archive)$');

/** Past this, a refused body's sender loses the connection instead. */
const DRAIN_MAX = 1 << 30;

/**
 * A JSON body's chunks, or undefined past MAX_JSON_BODY: the rest is
 * read and dropped, never kept, and the 400 goes out once the client
 * has sent it all. An answer sent in the middle of the upload raced the
 * close of the connection (a client could get neither), and a `break`
 * out of `for await` over the request destroys its socket.
 */
function collect(req: http.IncomingMessage)
  : Promise<Buffer[] | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  let chunks: Buffer[] | undefined = declared > MAX_JSON_BODY ? undefined
    : [];
  let size = 0;
  return new Promise((resolve, reject) => {
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_JSON_BODY) chunks = undefined;
      chunks?.push(chunk);
      if (size > DRAIN_MAX) req.destroy();
    });
    req.once('end', () => {
      if (size > MAX_JSON_BODY) reclaim();
      resolve(chunks);
    });
    req.once('error', reject);
    req.once('close', () => reject(new BadRequest('request body cut ' +
      'short')));
  });
}

let gc: (() => void) | undefined;
const mallocTrim = plain<(pad: number) => number>(
  'int malloc_trim(size_t pad)');

/**
 * One full garbage collection, after a refused body was read and
 * dropped: V8 frees the read buffers only at its next collection,
 * which an idle daemon may not reach for a long time, and its RSS
 * would stay up by what it read (node has no API for this: the flag
 * makes `gc` a global of each new context, v8.setFlagsFromString).
 */
function reclaim(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  // glibc keeps freed heap pages for the next malloc: give them back
  // (malloc_trim(3)).
  mallocTrim(0);
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  // A tar (build, load, import, cp) is the handler's to stream:
  // request.raw. docker-py sends application/tar, docker's CLI x-tar or
  // nothing.
  const type = req.headers['content-type'] ?? '';
  const path = (req.url ?? '').split('?')[0];
  if (/^application\/(x-tar|tar|octet-stream)/.test(type) ||
    RAW_BODY.test(path)) return undefined;
  const chunks = await collect(req);
  if (!chunks) {
    throw new BadRequest(`request body is larger than ${MAX_JSON_BODY} ` +
      'bytes');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('invalid JSON in the request body');
  }
}
