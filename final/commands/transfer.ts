// Tars between the CLI and the daemon: a file or stdin sent as a
// request body (load, import, cp), and an answer written to a file
// (atomically) or to stdout (save, export, cp).
import {
  createReadStream, createWriteStream, existsSync, renameSync, rmSync,
} from 'node:fs';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError, type Client } from '../client.ts';
import { API_VERSION } from '../paths.ts';

/**
 * Sends `body` (a file, "-" for stdin, or what makes a stream) as a tar.
 * A stream cannot be sent twice, as the client's other requests are
 * when they find no daemon: one must answer before the stream is made
 * (a child's output waiting that long would be thrown away at its exit).
 */
export async function upload(client: Client, method: string, path: string,
  body: string | (() => Readable)): Promise<string> {
  if (typeof body === 'string' && body !== '-' && !existsSync(body)) {
    throw new Error(`open ${body}: no such file or directory`);
  }
  await client.ensureDaemon();
  const input: Readable = typeof body !== 'string' ? body()
    : body === '-' ? process.stdin : createReadStream(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: client.sock, method,
      path: `/v${API_VERSION}${path}`, headers: { Host: 'skiff',
        'Content-Type': 'application/x-tar' } });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) < 300) return resolve(text);
        let message = text.trim() || `HTTP ${res.statusCode}`;
        try { message = JSON.parse(text).message ?? message; } catch {}
        reject(new ApiError(res.statusCode ?? 500, message));
      });
    });
    req.on('error', reject);
    input.on('error', (err) => req.destroy(err));
    input.pipe(req);
  });
}

/**
 * Streams a daemon answer to `out` (a file, written to a temporary name
 * then renamed) or to stdout, refusing a terminal as docker does.
 */
export async function download(client: Client, path: string,
  out: string | undefined): Promise<void> {
  if (!out && process.stdout.isTTY) {
    throw Object.assign(new Error('cowardly refusing to save to a ' +
      'terminal. Use the -o flag or redirect'), { exitCode: 1 });
  }
  const res = await client.stream('GET', path);
  if (!out) return pipeline(res, process.stdout);
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await pipeline(res, createWriteStream(tmp, { mode: 0o644 }));
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`write ${out}: ${(err as Error).message}`,
      { cause: err });
  }
}
