// skiff build: a context (a directory, or a tar on stdin) sent to the
// daemon's POST /build, whose JSON lines are printed as they come, as
// `docker build` with the classic builder does.
import {
  createReadStream, existsSync, openSync, readFileSync, rmSync, statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { createConnection } from 'node:net';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { packContext } from '../build/context.ts';
import { ApiError, withQuery } from '../client.ts';
import { API_VERSION } from '../paths.ts';
import type { Parsed } from '../flags.ts';
import type { Command, Ctx } from './command.ts';
import { bool, list, str } from './command.ts';

const command: Command = {
  usage: 'build [OPTIONS] PATH | -',
  summary: 'Build an image from a Dockerfile',
  flags: [
    { name: 'tag', short: 't', kind: 'list', value: 'list',
      help: 'Name and optionally a tag in the "name:tag" format' },
    { name: 'file', short: 'f', kind: 'string', value: 'string',
      help: 'Name of the Dockerfile (Default is "PATH/Dockerfile")' },
    { name: 'build-arg', kind: 'list', value: 'list',
      help: 'Set build-time variables' },
    { name: 'target', kind: 'string', value: 'string',
      help: 'Set the target build stage to build.' },
    { name: 'no-cache', kind: 'bool',
      help: 'Do not use cache when building the image' },
    { name: 'pull', kind: 'bool',
      help: 'Always attempt to pull a newer version of the image' },
    { name: 'label', kind: 'list', value: 'list',
      help: 'Set metadata for an image' },
    { name: 'quiet', short: 'q', kind: 'bool',
      help: 'Suppress the build output and print image ID on success' },
    { name: 'network', kind: 'string', value: 'string', default: 'default',
      help: 'Set the networking mode for the RUN instructions during build' },
    { name: 'iidfile', kind: 'string', value: 'string',
      help: 'Write the image ID to the file' },
    { name: 'rm', kind: 'bool', default: 'true',
      help: 'Remove intermediate containers after a successful build' },
    { name: 'force-rm', kind: 'bool',
      help: 'Always remove intermediate containers' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(p, ctx) {
    try {
      return await build(p, ctx);
    } catch (err) {
      // docker build's failures exit 1, or with the failed RUN's code.
      throw Object.assign(err as Error, {
        exitCode: (err as { exitCode?: number }).exitCode ?? 1 });
    }
  },
};
export default command;

async function build(p: Parsed, ctx: Ctx): Promise<number> {
  const { body, dockerfile, cleanup } = context(p.args[0], str(p, 'file'));
  try {
    const path = withQuery('/build', {
      t: undefined, dockerfile, target: str(p, 'target'),
      nocache: bool(p, 'no-cache') ? 1 : undefined,
      pull: bool(p, 'pull') ? 1 : undefined, q: bool(p, 'quiet') ? 1
        : undefined, networkmode: str(p, 'network'),
      rm: bool(p, 'rm') ? 1 : 0, forcerm: bool(p, 'force-rm') ? 1
        : undefined,
      buildargs: json(pairs(list(p, 'build-arg'), true)),
      labels: json(pairs(list(p, 'label'), false)),
    }) + list(p, 'tag').map((t) => `&t=${encodeURIComponent(t)}`)
      .join('');
    await ctx.client.ensureDaemon();
    const id = await send(ctx.client.sock, path, body, ctx.out,
      bool(p, 'quiet'));
    const iidfile = str(p, 'iidfile');
    if (iidfile) writeFileSync(iidfile, id);
    return 0;
  } finally {
    cleanup();
  }
}

/** `K=V` flags as an object; a bare `K` takes the CLI's environment. */
function pairs(items: string[], fromEnv: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq >= 0) out[item.slice(0, eq)] = item.slice(eq + 1);
    else if (!fromEnv) out[item] = '';
    else if (process.env[item] !== undefined) out[item] = process.env[item]!;
  }
  return out;
}

const json = (o: Record<string, string>) =>
  Object.keys(o).length ? JSON.stringify(o) : undefined;

/**
 * What is sent: a directory packed (its Dockerfile named relative to
 * it, or added to the tar when it lies outside), or stdin as it is.
 */
function context(arg: string, file?: string) {
  if (arg === '-') {
    if (file === '-') {
      throw new Error('invalid argument: can\'t use stdin for both build ' +
        'context and dockerfile');
    }
    return { body: () => process.stdin as Readable, dockerfile: file,
      cleanup: () => {} };
  }
  if (!existsSync(arg) || !statSync(arg).isDirectory()) {
    throw new Error(`unable to prepare context: path "${arg}" not found`);
  }
  const dir = resolve(arg);
  let dockerfile = 'Dockerfile';
  let extra: { name: string; data: Buffer } | undefined;
  if (file) {
    const abs = file === '-' ? undefined : resolve(file);
    const rel = abs ? relative(dir, abs) : '';
    if (abs && !rel.startsWith('..') && !isAbsolute(rel)) dockerfile = rel;
    else {
      dockerfile = `.dockerfile.${Math.random().toString(16).slice(2, 14)}`;
      extra = { name: dockerfile, data: file === '-'
        ? readFileSync(0) : readFileSync(abs!) };
    }
  }
  if (!extra && !existsSync(join(dir, dockerfile))) {
    throw new Error('unable to prepare context: unable to evaluate ' +
      `symlinks in Dockerfile path: lstat ${join(dir, dockerfile)}: no ` +
      'such file or directory');
  }
  // Open, then unlinked at once: a ^C cannot leave it behind in /tmp.
  const tar = packContext(dir, dockerfile, extra);
  const fd = openSync(tar, 'r');
  rmSync(dirname(tar), { recursive: true, force: true });
  return { body: () => createReadStream('', { fd }) as Readable, dockerfile,
    cleanup: () => {} };
}

/**
 * POSTs the context and prints the daemon's JSON lines as they come:
 * `stream` text, `aux.ID` (the image), `errorDetail` (the build failed:
 * its code is the exit status, as the docker CLI makes it).
 */
function send(sock: string, path: string, body: () => Readable,
  out: (text: string) => void, quiet: boolean): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    // No agent, as the client's own requests (final/client.ts): the
    // agent's TLS server name check compiles an IPv6 regex (ms).
    const req = http.request({
      createConnection: () => createConnection(sock), method: 'POST',
      path: `/v${API_VERSION}${path}`,
      headers: { Host: 'skiff', 'Content-Type': 'application/x-tar' } });
    let id = '';
    let rest = '';
    const line = (text: string) => {
      if (!text.trim()) return;
      const m = JSON.parse(text);
      if (m.errorDetail || m.error) {
        const e = m.errorDetail ?? { message: m.error };
        reject(Object.assign(new Error(e.message), {
          exitCode: e.code || 1 }));
      } else if (m.aux?.ID) id = m.aux.ID;
      else if (m.stream && !quiet) out(m.stream);
    };
    req.on('response', (res) => {
      if ((res.statusCode ?? 500) >= 300) {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => {
          let message = text.trim();
          try { message = JSON.parse(text).message ?? message; } catch {}
          // docker build exits 1 on "Error response from daemon".
          reject(Object.assign(new ApiError(res.statusCode ?? 500, message),
            { exitCode: 1 }));
        });
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        try { lines.forEach(line); } catch (err) { reject(err); }
      });
      res.on('end', () => {
        try { line(rest); } catch (err) { return reject(err); }
        if (quiet && id) out(`${id}\n`);
        resolvePromise(id);
      });
    });
    req.on('error', reject);
    const input = body();
    input.on('error', (err) => req.destroy(err));
    input.pipe(req);
  });
}
