// The HTTP/1.1 the CLI speaks to its daemon for a whole answer or a
// taken-over connection, written by hand on a unix socket. node:http
// would do, but its client costs the CLI's first request ≈5 ms of
// loading and cold code on this machine (ClientRequest, header checks,
// IncomingMessage streams) for what is a line, a few headers and a
// body here. Answers that stream (logs -f, save) still use node:http.
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The request's text; `Connection: close` unless headers say else. */
export function requestText(method: string, path: string, data: string,
  headers: Record<string, string> = {}): string {
  // As node's client refuses them: a space or control byte would end
  // the request line early.
  if (/[\0-\x20\x7f]/.test(path)) {
    throw new TypeError('Request path contains unescaped characters');
  }
  const all: Record<string, string | number> = {
    Host: 'skiff', Connection: 'close', ...headers };
  if (data) all['Content-Type'] = 'application/json';
  if (data || !['GET', 'HEAD', 'DELETE'].includes(method)) {
    all['Content-Length'] = Buffer.byteLength(data);
  }
  return `${method} ${path} HTTP/1.1\r\n` + Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`).join('') + `\r\n${data}`;
}

/** node's error for a connection closed before its answer. */
function hangUp(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/** Status line and headers, if all of them are in `buf`. */
function parseHead(buf: Buffer)
  : { status: number; headers: IncomingHttpHeaders; size: number }
  | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [line, ...fields] = buf.toString('latin1', 0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const f of fields) {
    const colon = f.indexOf(':');
    const name = f.slice(0, colon).trim().toLowerCase();
    const value = f.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(line.split(' ')[1]), headers, size: end + 4 };
}

/** A chunked body's chunks, joined (extensions and trailers dropped). */
function dechunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; ;) {
    const eol = b.indexOf('\r\n', i);
    const size = eol < 0 ? NaN : parseInt(b.toString('latin1', i, eol), 16);
    if (!size) break; // 0: the last chunk
    if (eol + 2 + size > b.length) throw hangUp();
    parts.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * A whole answer, read up to the end of the connection. One to HEAD, a
 * 204 or a 304 has no body, whatever its Content-Length says.
 */
export function parseAnswer(buf: Buffer, method = 'GET'): Answer {
  const head = parseHead(buf);
  if (!head) throw hangUp();
  let body = buf.subarray(head.size);
  const length = Number(head.headers['content-length']);
  if (method === 'HEAD' || head.status === 204 || head.status === 304) {
    body = body.subarray(0, 0);
  } else if (head.headers['transfer-encoding']?.includes('chunked')) {
    body = dechunk(body);
  } else if (length >= 0) {
    if (body.length < length) throw hangUp();
    body = body.subarray(0, length);
  }
  return { status: head.status, headers: head.headers, body };
}

/** Reads `sock` to its end and parses what came as one answer. */
export function readAnswer(sock: Socket, method: string)
  : Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      try {
        resolve(parseAnswer(Buffer.concat(chunks), method));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/**
 * Waits for the head of an upgrade's answer: on 101 resolves the socket
 * (any bytes after the head put back, the stream left unread as a new
 * one is), otherwise the whole answer, for the caller to report.
 */
export function readUpgrade(sock: Socket): Promise<Socket | Answer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const head = parseHead(buf);
      if (head?.status !== 101) return; // a refusal is read to its end
      sock.off('data', onData).off('end', onEnd).off('error', reject);
      // As node's http client leaves it: the next 'data' listener
      // starts the flow, not this one's removal.
      (sock as { readableFlowing: boolean | null }).readableFlowing = null;
      if (buf.length > head.size) sock.unshift(buf.subarray(head.size));
      resolve(sock);
    };
    const onEnd = () => {
      try {
        resolve(parseAnswer(buf, 'POST'));
      } catch (err) {
        reject(err);
      }
    };
    sock.on('data', onData).on('end', onEnd).on('error', reject);
  });
}
