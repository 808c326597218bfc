// Errors as data: a route throws one of these to answer with its HTTP
// status; the API's one top-level handler (api/server.ts, through
// answerOf below) reads `status` from these classes only, and sends the
// message as docker's JSON body, `{"message": ...}`, which the CLI
// prints (and maps to its exit code). Anything else thrown is a 500: a
// fault of the daemon, logged with its stack. (A `status` on any other
// error, such as the child's exit status on execFileSync's, is not an
// HTTP status: `ps` exiting 1 once made the answer's status 1, and
// Node's http server threw that out of the daemon.)
import { errnoWords, writeError } from './state.ts';

// #region http-errors (unused)
/** An error that answers with `status`. */
export abstract class HttpError extends Error {
  abstract readonly status: number;
}

/** 304: the container is already in the state asked for. */
export class NotModified extends HttpError {
  readonly status = 304;
}

/** 400: the request itself is wrong (a bad parameter or body). */
export class BadRequest extends HttpError {
  readonly status = 400;
}

/** 403: allowed in general, not for this object (docker's Forbidden). */
export class Forbidden extends HttpError {
  readonly status = 403;
}

/** 404: no such container, image, network, volume or file. */
export class NotFound extends HttpError {
  readonly status = 404;
}

/** 409: the object is in a state that forbids it (in use, running...). */
export class Conflict extends HttpError {
  readonly status = 409;
}

/** The status `err` answers with: its class's, else 500. */
export function statusOf(err: unknown): number {
  return err instanceof HttpError ? err.status : 500;
}
// #endregion

// #region programming-errors (unused)
/**
 * The errors JavaScript itself throws at a mistake in our code
 * (`x.includes is not a function`, a stack overflow, a bad escape): a
 * fault of the daemon, never the client's, and never words for it.
 */
const PROGRAMMING = [TypeError, RangeError, ReferenceError, SyntaxError,
  URIError, EvalError];

export function isProgrammingError(err: unknown): boolean {
  return PROGRAMMING.some((type) => err instanceof type);
}

/**
 * An errno error straight from Node (it has `syscall`; ours wrap one,
 * naming what they did, in `cause`): its text names a path and a
 * syscall deep inside the daemon, not what the client asked for.
 */
export function isRawSystemError(err: unknown): boolean {
  return typeof (err as { syscall?: unknown }).syscall === 'string';
}
// #endregion

// #region answer
/**
 * The one mapping from a thrown error to an answer: its status (500
 * when it has none), and the words a client may see. A 500 from a
 * mistake of ours or a bare errno says only which operation failed;
 * the stack goes to the daemon log (`logged`), never to the client.
 */
export function answerOf(err: unknown, operation: string)
  : { status: number; err: unknown; logged: boolean } {
  const status = statusOf(err);
  if (status !== 500) return { status, err, logged: false };
  const host = hostFault(err, operation);
  if (host) return { status, err: host, logged: true };
  if (!(err instanceof Error) || isProgrammingError(err) ||
    isRawSystemError(err)) {
    const code = (err as { code?: unknown }).code;
    const errno = typeof code === 'string' ? ` (${code})` : '';
    return { status, logged: true, err: new Error(`${operation}: ` +
      `internal error in the daemon${errno}; its log has the details`) };
  }
  return { status, err, logged: true };
}
// #endregion

/**
 * A full or read-only disk anywhere down the causes: the host's fault,
 * named as such (`cannot write PATH: no space left on device`, state.ts
 * writeError), whatever layer met it (a lock, a fifo, a rmdir). Our own
 * words for it (writeError's) stay as they are.
 */
function hostFault(err: unknown, operation: string): Error | undefined {
  if (err instanceof Error && /^cannot write /.test(err.message)) return err;
  let words: string | undefined;
  for (let e = err as Partial<Record<'code' | 'path' | 'cause', any>>;
    e && typeof e === 'object'; e = e.cause) {
    words ??= errnoWords(e.code ?? '');
    if (words && typeof e.path === 'string') return writeError(e.path, e);
  }
  if (!words) return undefined;
  return new Error(`${operation}: ${words}`, { cause: err });
}
