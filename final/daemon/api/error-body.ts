// Errors as the API sends them: docker's JSON body, the status the
// error carries, and docker's words where its CLI reads them.
import type http from 'node:http';
import { runcWords } from '../../../chapters/01-chroot/chroot.ts';
import {
  BadRequest, Conflict, HttpError, isProgrammingError, NotFound,
} from '../errors.ts';
import type { Route } from './route.ts';

/** docker's error body, with the exit code a CLI should exit with. */
export function errorBody(err: unknown, req?: http.IncomingMessage)
  : string {
  const code = (err as { exitCode?: number }).exitCode;
  let message = (err as Error).message;
  if (code === 127 && /^Docker-Client\//.test(req?.headers['user-agent'] ??
    '')) message = runcWords(message);
  return JSON.stringify({ message,
    ...(typeof code === 'number' ? { exitCode: code } : {}) });
}

/**
 * Chapters' errors carry no HTTP status: a missing object is a 404, a
 * conflict (rmi of an image in use) a 409, any other a bad request.
 */
export function translated(plain: Route): Route {
  return { ...plain, handler: async (request) => {
    try {
      return await plain.handler(request);
    } catch (err) {
      throw withStatus(err);
    }
  } };
}

function withStatus(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  const message = (err as Error).message;
  if (/ not found$|^no such/i.test(message)) return new NotFound(message);
  if (/^conflict/.test(message)) return new Conflict(message);
  if (err instanceof Error && err.constructor !== Error &&
    !isProgrammingError(err)) {
    return new BadRequest(message, { cause: err });
  }
  return err;
}
