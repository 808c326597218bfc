// Hashing a layer while it unpacks. The diff ID is the sha256 of every
// uncompressed byte, and at about 1 GB/s it costs as much CPU as all the
// file writes of an unpack. So a large layer is hashed (and, for the
// store, copied to layer.tar) on a second thread, from the very bytes
// the unpacker reads: both see one buffer in shared memory, never two
// reads of a file that could change in between.
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { writeAll } from './durable.ts';

/** Takes every byte of a layer, in order; then gives its sha256. */
export interface LayerDigest {
  /** A buffer to read the next bytes into (at most its length). */
  slot(): Buffer;
  /** The first `n` bytes of the last slot() are the next bytes. */
  commit(n: number): void;
  /** "sha256:<hex>" of all committed bytes (after the copy is written). */
  digest(): Promise<string>;
  /** Stops early; resolves to the copy's own error if it failed. */
  abort(): Promise<Error | undefined>;
}

/** slot() after the worker failed to write the copy: abort() says why. */
export class CopyFailed extends Error {}

const SLOT = 1 << 20;
const SLOTS = 4;

/**
 * A digest for a layer of about `size` bytes that also writes the bytes
 * to `copyTo` when given. Below a few MiB a thread is not worth its start.
 */
export function layerDigest(size: number, copyTo?: number): LayerDigest {
  return size >= 8 * SLOT ? new ThreadDigest(copyTo)
    : new InlineDigest(copyTo);
}

class InlineDigest implements LayerDigest {
  private readonly hash = createHash('sha256');
  private readonly buf = Buffer.allocUnsafe(SLOT);

  constructor(private readonly copyTo?: number) {}

  slot(): Buffer {
    return this.buf;
  }

  commit(n: number): void {
    const b = this.buf.subarray(0, n);
    this.hash.update(b);
    if (this.copyTo !== undefined) writeAll(this.copyTo, b);
  }

  async digest(): Promise<string> {
    return `sha256:${this.hash.digest('hex')}`;
  }

  async abort(): Promise<Error | undefined> {
    return undefined;
  }
}

// #region thread-digest
// The hashing thread: plain JavaScript, so it starts without a loader.
// state[i] is the byte count waiting in slot i (0: free, -1: the end);
// state[SLOTS] is set when the copy failed.
const WORKER = `
const { createHash } = require('node:crypto');
const { writeSync } = require('node:fs');
const { parentPort, workerData: { sab, state, copyTo, SLOT, SLOTS } } =
  require('node:worker_threads');
const hash = createHash('sha256');
let error = null;
for (let i = 0; ; i = (i + 1) % SLOTS) {
  Atomics.wait(state, i, 0);
  const n = Atomics.load(state, i);
  if (n < 0) break;
  const b = Buffer.from(sab, i * SLOT, n);
  try {
    hash.update(b);
    for (let done = 0; copyTo >= 0 && done < n;) {
      done += writeSync(copyTo, b, done);
    }
  } catch (err) {
    error ??= err;
    Atomics.store(state, SLOTS, 1);
  }
  Atomics.store(state, i, 0);
  Atomics.notify(state, i);
}
parentPort.postMessage(error ? { error } : { digest: hash.digest('hex') });
`;
// #endregion

// #region digest-ring
/**
 * A ring of SLOTS shared buffers: this thread fills one, hands it over
 * with Atomics, and fills the next while the worker hashes; it waits
 * only when all are still being hashed.
 */
class ThreadDigest implements LayerDigest {
  private readonly sab = new SharedArrayBuffer(SLOT * SLOTS);
  private readonly state = new Int32Array(
    new SharedArrayBuffer(4 * (SLOTS + 1)));
  private readonly views = Array.from({ length: SLOTS },
    (_, i) => Buffer.from(this.sab, i * SLOT, SLOT));
  private readonly worker: Worker;
  private readonly done: Promise<{ digest?: string; error?: Error }>;
  private i = 0;

  constructor(copyTo?: number) {
    this.worker = new Worker(WORKER, { eval: true, workerData: {
      sab: this.sab, state: this.state, copyTo: copyTo ?? -1, SLOT, SLOTS,
    } });
    this.done = new Promise((resolve, reject) => {
      this.worker.once('message', resolve);
      this.worker.once('error', reject);
    });
    this.done.catch(() => {}); // awaited later: not an unhandled one
  }
  // #endregion

  // #region digest-slots

  /** Waits until the worker is done with the slot to fill next. */
  private free(): void {
    let v: number;
    while ((v = Atomics.load(this.state, this.i)) !== 0) {
      // All slots busy: wait. A megabyte takes the worker a millisecond;
      // a minute means it died (this thread, blocked, hears no 'exit').
      if (Atomics.wait(this.state, this.i, v, 60_000) === 'timed-out') {
        throw new Error('layer digest: the hashing thread stopped');
      }
    }
  }

  slot(): Buffer {
    this.free();
    if (Atomics.load(this.state, SLOTS) !== 0) {
      throw new CopyFailed('writing the layer copy failed');
    }
    return this.views[this.i];
  }

  commit(n: number): void {
    if (n === 0) return;
    Atomics.store(this.state, this.i, n);
    Atomics.notify(this.state, this.i);
    this.i = (this.i + 1) % SLOTS;
  }
  // #endregion

  // #region digest-end

  /** Tells the worker there is no more, once it reaches that slot. */
  private end(): void {
    this.free();
    Atomics.store(this.state, this.i, -1);
    Atomics.notify(this.state, this.i);
  }

  async digest(): Promise<string> {
    this.end();
    const r = await this.done;
    await this.worker.terminate();
    if (r.error) throw r.error;
    return `sha256:${r.digest}`;
  }

  async abort(): Promise<Error | undefined> {
    try {
      this.end();
    } catch {
      await this.worker.terminate();
      return undefined;
    }
    const r = await this.done.catch((err: Error) => ({ error: err }));
    await this.worker.terminate();
    return r.error;
  }
}
// #endregion
