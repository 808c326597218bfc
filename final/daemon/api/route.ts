// What a route is: a method, a path pattern, a handler of the request.
import type http from 'node:http';

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

/** The path's first parameter, decoded. */
export function param(request: Req): string {
  return decodeURIComponent(request.params[0]);
}

/** A boolean query parameter: set unless absent, "0" or "false". */
export function flag(request: Req, name: string): boolean {
  const value = request.query.get(name);
  return value !== null && value !== '0' && value !== 'false';
}

export function num(request: Req, name: string): number | undefined {
  const value = request.query.get(name);
  return value === null || value === '' ? undefined : Number(value);
}
