// The CLI's side of the REST API: HTTP over the daemon's unix socket,
// plus the hijacked stream of attach/exec (HTTP upgrade), and starting
// a daemon in the background when none answers. Only node:net and
// http1.ts (node:http for a streamed answer, node:child_process once a
// daemon must start): the CLI imports this on every call.
import { mkdirSync, openSync } from 'node:fs';
import type http from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Answer, readAnswer, readUpgrade, requestText,
} from './http1.ts';
import { API_VERSION, defaultRoot, defaultSock } from './paths.ts';

/** An error the daemon answered with: docker's `Error response`. */
export class ApiError extends Error {
  exitCode = 125;
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Query = Record<string, string | number | boolean | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const q = Object.entries(query).filter(([, v]) => v !== undefined &&
    v !== false).map(([k, v]) =>
    `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return q.length ? `${path}?${q.join('&')}` : path;
}

export class Client {
  /**
   * A request that finds no daemon listening starts one and is sent
   * again (the CLI sets this; the tests talk to their own daemon).
   */
  startsDaemon = false;
  private starting?: Promise<void>;

  constructor(readonly sock = defaultSock(), readonly root = defaultRoot()) {}

  /** Sends one request and reads the whole answer. */
  request(method: string, path: string, body?: unknown): Promise<Reply> {
    return this.withDaemon(() => this.requestOnce(method, path, body));
  }

  private async requestOnce(method: string, path: string, body?: unknown)
    : Promise<Reply> {
    return reply(await readAnswer(this.send(method, path, body), method));
  }

  /** A request whose JSON answer is returned; errors become ApiError. */
  async call<T = any>(method: string, path: string, body?: unknown,
    ok: number[] = [200, 201, 204, 304]): Promise<T> {
    const r = await this.request(method, path, body);
    if (!ok.includes(r.status)) throw apiError(r);
    return (r.body ? JSON.parse(r.body) : undefined) as T;
  }

  /** A request whose answer is streamed to the caller. */
  stream(method: string, path: string, body?: unknown)
    : Promise<http.IncomingMessage> {
    return this.withDaemon(async () => {
      const req = await this.streamRequest(method, path, body);
      return new Promise((resolve, reject) => {
        req.on('response', async (res) => {
          if ((res.statusCode ?? 0) < 300) return resolve(res);
          const chunks: Buffer[] = [];
          for await (const c of res) chunks.push(c as Buffer);
          reject(apiError({ status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
      });
    });
  }

  /**
   * POST with `Connection: Upgrade`: on 101 the daemon hands over the
   * raw socket, as docker's attach and exec start do ("hijacking").
   */
  upgrade(path: string, body?: unknown): Promise<Socket> {
    return this.withDaemon(async () => {
      const got = await readUpgrade(this.send('POST', path, body, {
        Connection: 'Upgrade', Upgrade: 'tcp' }));
      if ('status' in got) throw apiError(reply(got));
      return got;
    });
  }

  /**
   * Runs `send`, and if nothing listens on the socket, starts a daemon
   * and runs it again: a connect that failed sent nothing, so nothing
   * is sent twice, and a running daemon costs no ping (a round trip
   * before each command).
   */
  private async withDaemon<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      const failed = (err as NodeJS.ErrnoException).syscall === 'connect';
      if (!this.startsDaemon || !failed) throw err;
      this.starting ??= this.ensureDaemon();
      await this.starting;
      return send();
    }
  }

  /**
   * Writes one request on a new connection: a connection per request.
   * A kept-alive socket the daemon had closed while idle (5 s) failed
   * the next request with ECONNRESET (node 20's global agent); on a unix
   * socket a new connection costs next to nothing.
   */
  private send(method: string, path: string, body?: unknown,
    headers?: Record<string, string>): Socket {
    const data = body === undefined ? '' : JSON.stringify(body);
    const text = requestText(method, `/v${API_VERSION}${path}`, data,
      headers);
    const sock = createConnection(this.sock);
    sock.write(text);
    return sock;
  }

  /**
   * The same through node:http, for an answer read as a stream. No
   * agent (see `send`); without one node asks for `Connection: close`
   * all the same and skips the agent's TLS server name check, whose
   * IPv6 regex costs ms to compile.
   */
  private async streamRequest(method: string, path: string,
    body?: unknown): Promise<http.ClientRequest> {
    const { request } = await import('node:http');
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({
      createConnection: () => createConnection(this.sock),
      method, path: `/v${API_VERSION}${path}`,
      headers: {
        Host: 'skiff',
        ...(data ? { 'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(data) } : {}),
      },
    });
    req.end(data);
    return req;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.requestOnce('GET', '/_ping')).status === 200;
    } catch {
      return false;
    }
  }

  /**
   * Makes sure a daemon answers, starting one in the background when
   * none does (detached, its output in <root>/daemon.log), like
   * podman's service-less mode does not have to and docker's does.
   */
  async ensureDaemon(timeoutMs = Number(process.env.SKIFF_START_TIMEOUT)
    * 1000 || 60_000): Promise<void> {
    if (await this.ping()) return;
    mkdirSync(this.root, { recursive: true });
    const log = openSync(join(this.root, 'daemon.log'), 'a');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [...process.execArgv, cliEntry(),
      'daemon', '--root', this.root, '--sock', this.sock], {
      detached: true, stdio: ['ignore', log, log],
    });
    let exited: number | null = null;
    child.on('exit', (code) => { exited = code ?? 1; });
    child.unref();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 15));
      if (await this.ping()) return;
      if (exited !== null && !(await this.ping())) {
        throw new Error(`start daemon: exited with ${exited}, ` +
          `see ${join(this.root, 'daemon.log')}`);
      }
    }
    throw new Error(`start daemon: no answer on ${this.sock} ` +
      `after ${timeoutMs / 1000} s`);
  }
}

/**
 * The program to run `daemon` with: cli.ts beside this file under tsx,
 * or, in the bundle (final/skiff.mjs), the launcher the user ran.
 */
function cliEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? join(dirname(here), 'cli.ts')
    : process.argv[1];
}

/** An answer with its body as text. */
function reply(a: Answer): Reply {
  return { status: a.status, headers: a.headers,
    body: a.body.toString('utf8') };
}

function apiError(r: Reply): ApiError {
  let message = r.body.trim() || `HTTP ${r.status}`;
  let code: unknown;
  try {
    const body = JSON.parse(r.body);
    message = body.message ?? message;
    code = body.exitCode; // skiff's: 126 or 127 for a failed start
  } catch { /* not JSON: keep the text */ }
  const err = new ApiError(r.status, message);
  if (code === 126 || code === 127) err.exitCode = code;
  return err;
}
