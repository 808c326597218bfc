// What a route is: a method, a path pattern, a handler of the request.
import type http from 'node:http';
import { API_VERSION } from '../../paths.ts';
import { BadRequest } from '../errors.ts';

export interface Req {
  method: string;
  params: string[];
  query: URLSearchParams;
  body: any;
  raw: http.IncomingMessage;
  res: http.ServerResponse;
}

export type Handler = (request: Req) => unknown | Promise<unknown>;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/** A path segment: an id or a name. */
export const ID = '([^/]+)';
/** Image names may hold slashes ("localhost:5000/a/b"). */
export const NAME = '(.+)';

export function route(method: string, path: string, handler: Handler)
  : Route {
  return { method, pattern: new RegExp(`^${path}$`), handler };
}

/** A path the routes can decode: `%ZZ` is the client's error (400). */
export function checkPath(path: string): void {
  try {
    decodeURIComponent(path);
  } catch (err) {
    throw new BadRequest(`invalid URL escape in ${path}`, { cause: err });
  }
}

/** The path's first parameter, decoded. */
export function param(request: Req): string {
  return decodeURIComponent(request.params[0]);
}

/**
 * A boolean query parameter as moby's httputils.BoolValueOrDefault
 * reads it: absent is `absent`; "", "0", "no", "false", "none" (in any
 * case: docker-py sends "False") are false; anything else is true.
 */
export function flag(request: Req, name: string, absent = false)
  : boolean {
  const value = request.query.get(name);
  if (value === null) return absent;
  return !['', '0', 'no', 'false', 'none']
    .includes(value.trim().toLowerCase());
}

/**
 * The API version a request asked for (its /v1.41/... prefix), for the
 * few answers that changed between versions; unprefixed: ours.
 */
export function apiVersion(request: Req): string {
  return /^\/v(\d+\.\d+)\//.exec(request.raw.url ?? '')?.[1] ??
    API_VERSION;
}

/** a < b, for versions "1.41" < "1.42". */
export function versionBefore(a: string, b: string): boolean {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am < bm || (am === bm && an < bn);
}

export function num(request: Req, name: string): number | undefined {
  const value = request.query.get(name);
  return value === null || value === '' ? undefined : Number(value);
}
