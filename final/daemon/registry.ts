// Images from and to registries: the client half of the OCI distribution
// spec (Docker's Registry HTTP API V2). A registry serves, under
// /v2/<name>/:
//   manifests/<tag or digest>  what an image is made of: its config and
//                              its layers, each named by digest
//   blobs/<digest>             configs and layers, by the sha256 of
//                              their bytes
//   blobs/uploads/             where a push sends the blobs it has
// The layers are tar (+gzip) blobs as in a docker-archive or an OCI
// layout, so a pull hands them to chapter 04's storeImage, as `load`
// does.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { goArch, MT, storeImage } from
  '../../chapters/04-aufs-overlay/archive.ts';
import {
  type Image, ImageError, type ImageConfig, type ImageStore, hexOf,
  normalizeRef, sha256, short,
} from '../../chapters/04-aufs-overlay/store.ts';
import type { BlobRange } from '../../chapters/04-aufs-overlay/unpack.ts';
import { answerOf, HttpError } from './errors.ts';
import { familiar } from './images.ts';

/** A failed pull or push, with the status our API answers with. */
export class RegistryError extends HttpError {
  constructor(readonly status: number, message: string,
    options?: ErrorOptions) {
    super(message, options);
  }
}

/** One JSON progress message of docker's pull and push streams. */
export type Emit = (m: Record<string, unknown>) => void;

// #region remote-ref (unused)
export interface Remote {
  /** "127.0.0.1:5000", or "docker.io" for a name without a host. */
  host: string;
  /** The repository on the registry: "library/busybox". */
  path: string;
  tag: string;
  digest?: string;
  /** The store's name for it: "busybox:latest", "host:5000/app:1". */
  local: string;
}

// #region parse-remote
/**
 * `host[:port]/name[:tag][@digest]`. The first component names a
 * registry only if it has a "." or a ":" or is "localhost"; without
 * one the name is Docker Hub's, and a one-word name is in "library/"
 * (distribution/reference's rules).
 */
export function parseRemote(ref: string): Remote {
  const at = ref.indexOf('@');
  const digest = at < 0 ? undefined : ref.slice(at + 1);
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new ImageError(`invalid reference format: "${ref}"`);
  }
  const named = normalizeRef(at < 0 ? ref : ref.slice(0, at));
  const colon = named.lastIndexOf(':');
  const name = named.slice(0, colon);
  const first = name.split('/')[0];
  const hosted = name.includes('/') && /[.:]|^localhost$/.test(first);
  let host = hosted ? first : 'docker.io';
  let path = hosted ? name.slice(first.length + 1) : name;
  if (host === 'index.docker.io') host = 'docker.io';
  if (host === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return { host, path, tag: named.slice(colon + 1), digest,
    local: familiar(named) };
}
// #endregion

// #region endpoint
/**
 * Docker Hub, or SKIFF_REGISTRY_MIRROR in its place (docker's
 * registry-mirrors, without the fall-back). Plain HTTP only to a
 * registry on loopback, as docker allows; HTTPS to any other.
 */
function endpoint(host: string): string {
  if (host === 'docker.io') {
    return process.env.SKIFF_REGISTRY_MIRROR ||
      'https://registry-1.docker.io';
  }
  const bare = host.replace(/:\d+$/, '');
  const loopback = bare === 'localhost' || bare === '[::1]' ||
    /^127\.\d+\.\d+\.\d+$/.test(bare);
  return `${loopback ? 'http' : 'https'}://${host}`;
}
// #endregion
// #endregion

// #region session (unused)
// #region session-send
/** Requests to one repository, with the token once one was needed. */
class Session {
  readonly base: string;
  private auth?: string;

  constructor(readonly remote: Remote, private readonly actions: string) {
    this.base = `${endpoint(remote.host)}/v2/${remote.path}`;
  }

  /**
   * Sends a request; a 401 with a `WWW-Authenticate: Bearer` challenge
   * gets a token and sends it again. `init` is a function because a
   * request body can be sent only once.
   */
  async send(url: string, init: () => RequestInit = () => ({}))
    : Promise<Response> {
    const res = await this.once(url, init());
    const challenge = res.headers.get('www-authenticate') ?? '';
    if (res.status !== 401 || this.auth || !/^bearer /i.test(challenge)) {
      return res;
    }
    await res.body?.cancel();
    this.auth = `Bearer ${await this.token(challenge)}`;
    return this.once(url, init());
  }
// #endregion

  private async once(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.auth) headers.set('Authorization', this.auth);
    try {
      // duplex: node's fetch wants it said for a streamed body
      return await fetch(url, { ...init, headers, duplex: 'half' } as
        RequestInit);
    } catch (err) {
      const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
      throw new RegistryError(500, `connect to ${new URL(url).host}: ${
        cause?.code ?? cause?.message ?? (err as Error).message}`,
      { cause: err });
    }
  }

  // #region token
  /**
   * The anonymous token of docker's token protocol: GET the challenge's
   * realm with its service and our scope; the answer holds the token
   * (`token`, or OAuth2's `access_token`). No credentials: a registry
   * that wants a login is refused with its own error.
   */
  private async token(challenge: string): Promise<string> {
    const p: Record<string, string> = Object.fromEntries([...challenge
      .matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const url = new URL(p.realm ?? '');
    if (p.service) url.searchParams.set('service', p.service);
    url.searchParams.set('scope',
      `repository:${this.remote.path}:${this.actions}`);
    const res = await this.once(url.href, {});
    if (!res.ok) throw await failure(res, `token from ${url.host}`);
    const body = await res.json() as { token?: string;
      access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(500, `${url.host}: no token`);
    return token;
  }
  // #endregion
}
// #endregion

/** A registry's error answer: its first `errors[].message`, lowercase. */
async function failure(res: Response, what?: string)
  : Promise<RegistryError> {
  let message = `HTTP ${res.status}`;
  try {
    const e = (await res.json() as { errors?: { message?: string }[] })
      .errors?.[0];
    if (e?.message) message = e.message.toLowerCase();
  } catch { /* no JSON body (HEAD, a proxy's page) */ }
  const status = res.status === 404 ? 404 : res.status === 401 ||
    res.status === 403 ? 403 : 500;
  return new RegistryError(status, what ? `${what}: ${message}` : message);
}

// #region manifest (unused)
interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
}

interface Manifest {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  /** An index (manifest list): one manifest per platform. */
  manifests?: Descriptor[];
}

const ACCEPT = [MT.dockerManifest, MT.dockerList, MT.ociManifest,
  MT.ociIndex].join(', ');

/** Blobs we read whole (manifests, configs) are small; refuse more. */
const SMALL = 4 << 20;

// #region resolve-manifest
/**
 * The manifest a tag or digest names; through an index, the one for
 * linux on this host's architecture. Returns it with the digest of
 * what the reference named (the index's, for an index: docker's too).
 */
async function resolveManifest(s: Session)
  : Promise<{ digest: string; manifest: Manifest }> {
  const top = await getManifest(s, s.remote.digest ?? s.remote.tag);
  let manifest = top.manifest;
  if (manifest.manifests) {
    const mine = manifest.manifests.find((d) => d.platform?.os ===
      'linux' && d.platform.architecture === goArch());
    if (!mine) {
      throw new RegistryError(404, `no linux/${goArch()} image ` +
        'in the manifest list');
    }
    manifest = (await getManifest(s, mine.digest)).manifest;
  }
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new RegistryError(500, 'unsupported manifest (schema 1?)');
  }
  return { digest: top.digest, manifest };
}
// #endregion

// #region get-manifest
async function getManifest(s: Session, ref: string)
  : Promise<{ digest: string; manifest: Manifest }> {
  const res = await s.send(`${s.base}/manifests/${ref}`,
    () => ({ headers: { Accept: ACCEPT } }));
  if (!res.ok) throw await failure(res);
  const bytes = await small(res, `manifest ${ref}`);
  const digest = sha256(bytes);
  if (ref.startsWith('sha256:') && digest !== ref) {
    throw new RegistryError(500, `manifest ${ref}: digest mismatch`);
  }
  try {
    return { digest, manifest: JSON.parse(bytes.toString('utf8')) };
  } catch (err) {
    throw new RegistryError(500, `manifest ${ref}: not valid JSON`,
      { cause: err });
  }
}
// #endregion

async function small(res: Response, what: string): Promise<Buffer> {
  if (Number(res.headers.get('content-length')) > SMALL) {
    throw new RegistryError(500, `${what}: larger than ${SMALL} bytes`);
  }
  return Buffer.from(await res.arrayBuffer());
}
// #endregion

// #region blobs (unused)
/** A blob read whole (a config), refused unless its digest matches. */
async function blobBytes(s: Session, d: Descriptor): Promise<Buffer> {
  const res = await s.send(`${s.base}/blobs/${d.digest}`);
  if (!res.ok) throw await failure(res, `blob ${d.digest}`);
  const bytes = await small(res, `blob ${d.digest}`);
  if (sha256(bytes) !== d.digest) {
    throw new RegistryError(500, `blob ${d.digest}: digest mismatch`);
  }
  return bytes;
}

// #region blob-file
/**
 * A layer blob streamed to `file`, hashed on the way: refused if its
 * digest differs or it runs past its size, before anything unpacks it.
 */
async function blobFile(s: Session, d: Descriptor, file: string,
  progress: (bytes: number) => void): Promise<void> {
  const res = await s.send(`${s.base}/blobs/${d.digest}`);
  if (!res.ok || !res.body) throw await failure(res, `blob ${d.digest}`);
  const hash = createHash('sha256');
  let n = 0;
  const check = new Transform({ transform(chunk: Buffer, _enc, done) {
    n += chunk.length;
    if (n > d.size) {
      return done(new RegistryError(500, `blob ${d.digest}: more than ` +
        `its ${d.size} bytes`));
    }
    hash.update(chunk);
    progress(n);
    done(null, chunk);
  } });
  await pipeline(Readable.fromWeb(res.body as ReadableStream), check,
    createWriteStream(file, { mode: 0o600 }));
  if (`sha256:${hash.digest('hex')}` !== d.digest) {
    throw new RegistryError(500, `blob ${d.digest}: digest mismatch`);
  }
}
// #endregion
// #endregion

// #region pull (unused)
// #region pull-config
/**
 * `docker pull`: the manifest, the config, then each layer the store
 * lacks, each checked against its digest as it arrives; chapter 04's
 * storeImage unpacks them, checks the config's diff IDs and stores
 * image and tag in one step. Nothing is left of a pull that failed.
 */
export async function pull(store: ImageStore, ref: string, emit: Emit)
  : Promise<Image> {
  const remote = parseRemote(ref);
  const s = new Session(remote, 'pull');
  const { digest, manifest } = await resolveManifest(s);
  emit({ status: `Pulling from ${remote.path}`,
    id: remote.digest ?? remote.tag });
  const raw = await blobBytes(s, manifest.config!);
  const config = JSON.parse(raw.toString('utf8')) as ImageConfig;
  const layers = manifest.layers!;
  if (config.rootfs?.diff_ids?.length !== layers.length) {
    throw new RegistryError(500, `image config lists ${
      config.rootfs?.diff_ids?.length ?? 0} layers, the manifest ${
      layers.length}`);
// #endregion
  }
// #region pull-store
  const dir = store.scratch('pull-');
  try {
    const blobs = await fetchLayers(s, store, layers,
      config.rootfs.diff_ids, dir, emit);
    const name = remote.digest ? `${remote.local.replace(/:[^:/]+$/,
      '')}@${remote.digest}` : remote.local;
    const before = remote.digest ? store.ids().find((i) =>
      i === manifest.config!.digest) : store.tags()[remote.local];
    // By digest, as docker: no tag is set (`images` shows <none>).
    const image = await storeImage(store, raw, blobs,
      remote.digest ? [] : [remote.local]);
    for (const l of layers.filter((_, i) => blobs[i])) {
      emit({ status: 'Pull complete', progressDetail: {},
        id: short(l.digest) });
    }
    emit({ status: `Digest: ${digest}` });
    emit({ status: `Status: ${before === image.id ? 'Image is up to date'
      : 'Downloaded newer image'} for ${name}` });
    return image;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
// #endregion
// #endregion

/** Downloads the layers whose diff ID the store lacks, into `dir`. */
async function fetchLayers(s: Session, store: ImageStore,
  layers: Descriptor[], diffIds: string[], dir: string, emit: Emit)
  : Promise<(BlobRange | undefined)[]> {
  const out: (BlobRange | undefined)[] = [];
  for (const [i, d] of layers.entries()) {
    const id = short(d.digest);
    if (store.hasLayer(diffIds[i])) {
      emit({ status: 'Already exists', progressDetail: {}, id });
      out.push(undefined);
      continue;
    }
    emit({ status: 'Pulling fs layer', progressDetail: {}, id });
    const file = join(dir, hexOf(d.digest));
    let shown = 0;
    await blobFile(s, d, file, (n) => {
      if (n - shown < 1 << 20 && n < d.size) return; // a line a MiB
      shown = n;
      emit({ status: 'Downloading', progressDetail: { current: n,
        total: d.size }, id });
    });
    emit({ status: 'Download complete', progressDetail: {}, id });
    out.push({ file });
  }
  return out;
}

// #region push (unused)
// #region push-layers
/**
 * `docker push`: each layer as the store keeps it (its uncompressed
 * tar, whose digest is the diff ID: the digest we declare is that of
 * the bytes we send), then the config, then an OCI manifest naming
 * them. A blob the registry has already is not sent again.
 */
export async function push(store: ImageStore, ref: string, emit: Emit)
  : Promise<void> {
  const remote = parseRemote(ref);
  const image = store.image(remote.local);
  const s = new Session(remote, 'pull,push');
  emit({ status: `The push refers to repository [${remote.host ===
    'docker.io' ? `docker.io/${remote.path}` : remote.local.replace(
    /:[^:/]+$/, '')}]` });
  const layers: Descriptor[] = [];
  for (const d of image.config.rootfs.diff_ids) {
    const desc = { mediaType: MT.ociLayer, digest: d,
      size: store.layerMeta(d).size };
    await upload(s, desc, () => createReadStream(store.layerTar(d)), emit);
    layers.push(desc);
  }
  const config = { mediaType: MT.ociConfig, digest: image.id,
    size: image.raw.length };
  await upload(s, config, () => image.raw);
// #endregion
// #region push-manifest
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2,
    mediaType: MT.ociManifest, config, layers }));
  const res = await s.send(`${s.base}/manifests/${remote.tag}`, () => ({
    method: 'PUT', headers: { 'Content-Type': MT.ociManifest },
    body: manifest }));
  if (res.status !== 201) throw await failure(res, 'manifest');
  const digest = sha256(manifest);
  emit({ status: `${remote.tag}: digest: ${digest} size: ${
    manifest.length}` });
  emit({ progressDetail: {}, aux: { Tag: remote.tag, Digest: digest,
    Size: manifest.length } });
}
// #endregion
// #endregion

/**
 * One blob: HEAD says whether the registry has it; if not, POST opens
 * an upload and one PUT with `?digest=` sends it all (a monolithic
 * upload), which the registry checks against that digest.
 */
async function upload(s: Session, d: Descriptor,
  body: () => Buffer | Readable, emit?: Emit): Promise<void> {
  const id = short(d.digest);
  const head = await s.send(`${s.base}/blobs/${d.digest}`,
    () => ({ method: 'HEAD' }));
  if (head.ok) {
    emit?.({ status: 'Layer already exists', progressDetail: {}, id });
    return;
  }
  emit?.({ status: 'Pushing', progressDetail: {}, id });
  const start = await s.send(`${s.base}/blobs/uploads/`,
    () => ({ method: 'POST' }));
  if (start.status !== 202) throw await failure(start, `blob ${d.digest}`);
  await start.body?.cancel();
  const url = new URL(start.headers.get('location') ?? '', `${s.base}/`);
  url.searchParams.set('digest', d.digest);
  const put = await s.send(url.href, () => ({ method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: body() as BodyInit }));
  if (put.status !== 201) throw await failure(put, `blob ${d.digest}`);
  emit?.({ status: 'Pushed', progressDetail: {}, id });
}

// #region progress-stream
/**
 * Runs a pull or a push as docker's API does: JSON messages, one a line,
 * on a 200 sent with the first one. An error before that is an HTTP
 * error (404 for a manifest unknown); after it, an `error` message.
 */
export async function progressStream(res: http.ServerResponse,
  what: string, fn: (emit: Emit) => Promise<unknown>): Promise<void> {
  const emit: Emit = (m) => {
    if (!res.headersSent) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
    }
    res.write(`${JSON.stringify(m)}\n`);
  };
  try {
    await fn(emit);
  } catch (caught) {
    const status = caught instanceof HttpError ? caught.status
      : caught instanceof ImageError ? 400 : 500;
    // A fault of ours is named, never shown, and logged (answerOf).
    const { err, logged } = status === 500 ? answerOf(caught, what)
      : { err: caught, logged: false };
    if (logged) console.error(`skiff daemon: ${what}:`, caught);
    const message = err === caught ? `${what}: ${(err as Error).message}`
      : (err as Error).message;
    if (res.headersSent) {
      emit({ errorDetail: { message }, error: message });
    } else {
      throw new RegistryError(status, message, { cause: caught });
    }
  }
  res.end();
}
// #endregion
