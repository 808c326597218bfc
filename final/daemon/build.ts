// POST /build: docker's classic builder over this engine. The context
// arrives as a tar and is unpacked into a scratch directory; the
// builder (final/build/) walks the Dockerfile; this file is its backend:
// RUN is a container of the engine's (default confinement, the build's
// network), COPY/ADD write into chapter 04's union mount of the parent
// image, and each change is chapter 04's commit of the upper layer.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync,
  readFileSync, readlinkSync, readSync, renameSync, rmSync, writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  commitRootfs, createRootfs, mountRootfs, rootfsOf, unmountRootfs,
} from '../../chapters/04-aufs-overlay/overlay.ts';
import type {
  ContainerConfig, ImageConfig, ImageStore,
} from '../../chapters/04-aufs-overlay/store.ts';
import { goArch } from '../../chapters/04-aufs-overlay/archive.ts';
import { writeAtomic } from '../../chapters/04-aufs-overlay/durable.ts';
import { TarFormatError } from '../../chapters/04-aufs-overlay/tar.ts';
import {
  BreakoutError, unpack,
} from '../../chapters/04-aufs-overlay/unpack.ts';
import type { CreateBody } from '../api-types.ts';
import {
  build, BuildError, type BuildBackend, type FileStep, shortId,
} from '../build/builder.ts';
import {
  copyInto, type CopyTarget, type Ignore, left, sources,
} from '../build/copy.ts';
import { contextIgnore } from '../build/context.ts';
import { DockerfileError } from '../build/dockerfile.ts';
import { imageEvents } from './api/images.ts';
import { answerOf } from './errors.ts';
import type { Req } from './api/route.ts';
import { BuildCache } from './build-cache.ts';
import { familiar, normalizeRef } from './images.ts';
import { userInImage } from './start-steps.ts';
import type { Engine } from './engine.ts';
import { pull } from './registry.ts';
import { withUpload } from './transfer.ts';

type Emit = (m: object) => void;

/** POST /build: the JSON stream docker's CLI and docker-py read. */
export async function buildRoute(engine: Engine, q: Req): Promise<void> {
  const store = engine.images.store;
  const query = q.query;
  const quiet = flag(query, 'q');
  const emit: Emit = (m) => {
    if (!q.res.headersSent) {
      q.res.writeHead(200, { 'Content-Type': 'application/json' });
    }
    q.res.write(`${JSON.stringify(m)}\n`);
  };
  const say = (text: string) => { if (!quiet) emit({ stream: text }); };
  // A client that goes away (^C) cancels the build: the step running
  // is killed, and nothing is tagged.
  const cancel = new AbortController();
  q.res.on('close', () => { if (!q.res.writableFinished) cancel.abort(); });
  const trash = new Trash(store);
  try {
    await withUpload(store, q.raw, async (tar) => {
      const context = store.scratch('context-');
      try {
        await unpack({ file: tar }, context);
        const id = await buildIn(engine, context, query, say, emit,
          { signal: cancel.signal, trash });
        if (cancel.signal.aborted) throw new BuildError('build canceled');
        emit({ aux: { ID: id } });
        if (quiet) emit({ stream: `${id}\n` });
        say(`Successfully built ${shortId(id)}\n`);
        for (const t of query.getAll('t')) {
          store.tag(id, t);
          imageEvents(engine)('tag', id, familiar(normalizeRef(t)));
          say(`Successfully tagged ${t.includes(':') ? t : `${t}:latest`}\n`);
        }
      } finally {
        trash.add(context);
      }
    });
  } catch (err) {
    failed(q, err, emit);
  }
  q.res.end();
  trash.empty();
}

/**
 * A build that failed: before the first step (no Dockerfile, a parse
 * error, an unknown --target, a context that is no tar) dockerd
 * answers 400 with a message, not a stream, and its CLI says "Error
 * response from daemon: ..."; after it, the error ends the stream. A
 * fault of the daemon's own is named, its stack logged (answerOf).
 */
function failed(q: Req, caught: unknown, emit: Emit): void {
  const bad = caught instanceof BuildError ||
    caught instanceof DockerfileError || caught instanceof TarFormatError ||
    caught instanceof BreakoutError;
  const { err, logged } = bad ? { err: caught, logged: false }
    : answerOf(caught, 'POST /build');
  if (logged) console.error('skiff daemon: POST /build:', caught);
  const message = (err as Error).message;
  const code = err instanceof BuildError ? err.code : 1;
  if (q.res.headersSent) {
    emit({ errorDetail: { code, message }, error: message });
  } else {
    q.res.writeHead(bad ? 400 : 500, { 'Content-Type': 'application/json' });
    q.res.write(JSON.stringify({ message }));
  }
}

/**
 * Directories the build is done with: the context, COPY's unmounted
 * layers. Deleting a few hundred small files costs 0.2-1.5 ms each on
 * ext4 (a journal write per unlink, more while RUN's layers are being
 * fsynced), which a cached rebuild of a 200-file context paid twice
 * before answering. They are moved into the store's tmp/ at once (a
 * rename: nothing is left where the engine looks) and deleted once
 * the answer has been written; a daemon that dies before that leaves
 * them in tmp/, with the rest of its scratch.
 */
class Trash {
  private dirs: string[] = [];
  constructor(private readonly store: ImageStore) {}

  add(dir: string): void {
    if (dirname(dir) === join(this.store.root, 'tmp')) {
      this.dirs.push(dir); // scratch already
      return;
    }
    const bin = this.store.scratch('trash-');
    this.dirs.push(bin);
    try {
      renameSync(dir, join(bin, 'dir'));
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Deletes them off the event loop (libuv's thread pool). */
  empty(): void {
    for (const d of this.dirs) {
      void rm(d, { recursive: true, force: true }).catch(() => {});
    }
    this.dirs = [];
  }
}

function flag(query: URLSearchParams, name: string): boolean {
  return /^(1|true)$/i.test(query.get(name) ?? '');
}

function jsonParam(query: URLSearchParams, name: string)
  : Record<string, string> {
  const text = query.get(name);
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw Object.assign(new BuildError(`${name}: invalid JSON`),
      { cause: err });
  }
}

async function buildIn(engine: Engine, context: string,
  query: URLSearchParams, say: (t: string) => void, emit: Emit,
  { signal, trash }: { signal: AbortSignal; trash: Trash })
  : Promise<string> {
  const file = query.get('dockerfile') || 'Dockerfile';
  const path = join(context, file);
  if (file.split('/').includes('..') || !existsSync(path) ||
    !lstatSync(path).isFile()) {
    throw new BuildError(`Cannot locate specified Dockerfile: ${file}`);
  }
  const backend = new EngineBackend(engine, context, {
    network: query.get('networkmode') || 'default',
    rm: query.get('rm') !== '0' && query.get('rm') !== 'false',
    forceRm: flag(query, 'forcerm'), pull: flag(query, 'pull'), signal,
    trash }, say, emit);
  return build(readFileSync(path, 'utf8'), { dockerfile: file,
    buildArgs: jsonParam(query, 'buildargs'),
    target: query.get('target') || undefined,
    noCache: flag(query, 'nocache'), labels: jsonParam(query, 'labels'),
    signal }, backend);
}

interface Choices { network: string; rm: boolean; forceRm: boolean;
  pull: boolean; signal: AbortSignal; trash: Trash }

// #region backend
class EngineBackend implements BuildBackend {
  private readonly store: ImageStore;
  private readonly ignore: Ignore;
  private readonly cache: BuildCache;
  private pulled = new Set<string>();

  constructor(private readonly engine: Engine, private readonly context:
    string, private readonly choices: Choices,
  readonly say: (t: string) => void, private readonly emit: Emit) {
    this.store = engine.images.store;
    this.ignore = contextIgnore(context);
    this.cache = new BuildCache(engine.config.root, this.store);
  }

  async image(ref: string) {
    const have = this.engine.images.find(ref);
    const fresh = this.choices.pull && !this.pulled.has(ref) &&
      !/^sha256:/.test(ref);
    if (!have || fresh) {
      this.pulled.add(ref);
      await pull(this.store, ref, (m) => this.emit(m));
    }
    const img = this.store.image(ref);
    return { id: img.id, config: img.config.config ?? {} };
  }

  async configure(parent: string, config: ContainerConfig,
    createdBy: string): Promise<string> {
    const base: ImageConfig = parent ? structuredClone(
      this.store.image(parent).config) : { architecture: goArch(), os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] } };
    const created = new Date().toISOString();
    base.created = created;
    base.config = config;
    (base.history ??= []).push({ created, created_by: createdBy,
      empty_layer: true });
    return this.store.addImage(Buffer.from(JSON.stringify(base)), []).id;
  }
  // #endregion

  async change(step: FileStep): Promise<string> {
    if (step.run) return this.run(step);
    return this.copy(step);
  }

  // #region backend-run
  /** RUN: a container of the engine's, its output in the build's. */
  private async run(step: FileStep): Promise<string> {
    const cs = this.engine.containers;
    const run = step.run!;
    const c = cs.create({ Image: step.parent, Cmd: run.argv,
      Entrypoint: [], Env: run.env, User: run.user || undefined,
      WorkingDir: run.workdir, HostConfig: { NetworkMode:
        this.choices.network === 'default' ? 'bridge'
          : this.choices.network } } as CreateBody);
    this.say(` ---> Running in ${c.id.slice(0, 12)}\n`);
    const show = (e: { log: string }) => this.say(e.log);
    c.log.on('entry', show);
    let ok = false;
    const kill = () => { try { cs.kill(c); } catch { /* gone */ } };
    this.choices.signal.addEventListener('abort', kill);
    try {
      const exited = cs.wait(c, 'next-exit');
      await cs.start(c);
      // A cancel that came while it was starting found nothing to kill.
      if (this.choices.signal.aborted) kill();
      const code = await exited;
      if (this.choices.signal.aborted) throw new BuildError('build canceled');
      if (code !== 0) {
        throw new BuildError(`The command '${run.argv.join(' ')}' ` +
          `returned a non-zero code: ${code}`, code);
      }
      const image = await commitRootfs(this.store, c.id, {
        changes: step.config, createdBy: step.createdBy });
      ok = true;
      return image.id;
    } finally {
      this.choices.signal.removeEventListener('abort', kill);
      c.log.off('entry', show);
      const gone = this.choices.signal.aborted;
      if ((ok && this.choices.rm) || this.choices.forceRm || gone) {
        this.say(`Removing intermediate container ${c.id.slice(0, 12)}\n`);
        await cs.remove(c, true);
      }
    }
  }
  // #endregion

  /** COPY/ADD: no process; the parent's union mount, then a commit. */
  private async copy(step: FileStep): Promise<string> {
    const id = `build-${randomBytes(8).toString('hex')}`;
    const c = step.copy!;
    const src = c.from ? this.mountImage(c.from) : undefined;
    const scratch = this.store.scratch('add-');
    try {
      createRootfs(this.store, id, step.parent || emptyImage(this.store));
      const root = mountRootfs(this.store, id);
      const { uid, gid } = c.chown ? userInImage(root, c.chown)
        : { uid: 0, gid: 0 };
      const target: CopyTarget = { root, dest: c.dest, workdir: c.workdir,
        uid, gid, mode: c.chmod ? parseInt(c.chmod, 8) : undefined };
      const base = src?.root ?? this.context;
      const ignore = src ? [] : this.ignore;
      const local = c.sources.filter((s) => !isUrl(s));
      const paths = local.flatMap((s) => sources(base, s, ignore));
      if (c.add) {
        await this.addSpecial(c.sources.filter(isUrl), paths, base, scratch,
          target);
      }
      const plain = c.add ? paths.filter((p) => !isArchive(join(base, p)))
        : paths;
      if (plain.length) copyInto(base, plain, target, ignore);
      const image = await commitRootfs(this.store, id, {
        changes: step.config, createdBy: step.createdBy });
      return image.id;
    } finally {
      this.discard(id);
      if (src) this.discard(src.id);
      this.choices.trash.add(scratch);
    }
  }

  /** A rootfs of the build's own: unmounted now, deleted later. */
  private discard(id: string): void {
    unmountRootfs(this.store, id);
    this.choices.trash.add(rootfsOf(this.store, id).dir);
  }

  /**
   * ADD's two extras: a local tar archive (plain or gzip) is unpacked
   * into the destination directory; a URL is downloaded to a file of
   * the URL's last name, mode 0600, not unpacked (docker's reference).
   */
  private async addSpecial(urls: string[], paths: string[], base: string,
    scratch: string, target: CopyTarget): Promise<void> {
    for (const [i, p] of paths.entries()) {
      if (!isArchive(join(base, p))) continue;
      const dir = join(scratch, `tar-${i}`);
      mkdirSync(dir);
      await unpack({ file: join(base, p) }, dir);
      copyInto(dir, ['.'], { ...target,
        dest: target.dest.replace(/\/?$/, '/') }, []);
    }
    for (const [i, url] of urls.entries()) {
      const body = await download(url);
      const name = new URL(url).pathname.split('/').filter(Boolean).pop()
        ?? 'index.html';
      const dir = join(scratch, `url-${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, name), body, { mode: 0o600 });
      copyInto(dir, [name], { ...target, mode: target.mode ?? 0o600 }, []);
    }
  }

  /** COPY --from: the stage's or image's root, mounted for reading. */
  private mountImage(ref: string): { id: string; root: string } {
    const id = `build-${randomBytes(8).toString('hex')}`;
    createRootfs(this.store, id, ref);
    return { id, root: mountRootfs(this.store, id) };
  }

  async sourcesHash(step: FileStep): Promise<string> {
    const c = step.copy!;
    if (c.from) return `from:${this.store.image(c.from).id}`;
    const hash = createHash('sha256');
    const walk = (rel: string) => {
      const st = lstatSync(join(this.context, rel));
      hash.update(`${rel}\0${st.mode}\0${st.size}\0`);
      if (st.isDirectory()) {
        for (const n of readdirSync(join(this.context, rel)).sort()) {
          const child = rel === '.' ? n : `${rel}/${n}`;
          // What COPY leaves out (an ignored Dockerfile) cannot miss it.
          if (!left(this.context, child, this.ignore)) walk(child);
        }
      } else if (st.isFile()) {
        hash.update(readFileSync(join(this.context, rel)));
      } else if (st.isSymbolicLink()) {
        hash.update(readlinkSync(join(this.context, rel)));
      }
    };
    for (const s of c.sources) {
      // A URL counts by its text: a later build reuses the download.
      if (isUrl(s)) hash.update(`url:${s}\0`);
      else for (const p of sources(this.context, s, this.ignore)) walk(p);
    }
    return hash.digest('hex');
  }

  cacheGet(key: string): string | undefined {
    return this.cache.get(key);
  }

  cacheSet(key: string, image: string): void {
    this.cache.set(key, image);
  }
}

const isUrl = (s: string) => /^https?:\/\//.test(s);

/** ADD's URL source: the body of a GET, or the step fails naming it. */
async function download(url: string): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    // fetch's own message is "fetch failed"; the reason is its cause.
    const why = (err as { cause?: Error }).cause ?? (err as Error);
    throw new BuildError(`ADD failed: Get "${url}": ${why.message}`, 1);
  }
  if (!res.ok) {
    throw new BuildError(`ADD failed: failed to GET ${url} with status ` +
      `${res.status} ${res.statusText}`.trim());
  }
  return Buffer.from(await res.arrayBuffer());
}

/** A tar, by ustar's magic at 257, or a gzip stream (a .tar.gz). */
function isArchive(path: string): boolean {
  if (!lstatSync(path).isFile()) return false;
  const head = Buffer.alloc(263);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return (head[0] === 0x1f && head[1] === 0x8b) ||
    head.subarray(257, 262).toString('latin1') === 'ustar';
}

/** FROM scratch's first file step: an image with no layers at all. */
function emptyImage(store: ImageStore): string {
  const config: ImageConfig = { architecture: goArch(), os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] }, config: {} };
  return store.addImage(Buffer.from(JSON.stringify(config)), []).id;
}

