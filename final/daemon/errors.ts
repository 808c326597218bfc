// The errors a route throws to answer with an HTTP status other than
// 500: api.ts sends `status` and the message as docker's JSON body,
// `{"message": ...}`, which the CLI prints (and maps to its exit code).

/** 304: the container is already in the state asked for. */
export class NotModified extends Error {
  readonly status = 304;
}

/** 400: the request itself is wrong (a bad parameter or body). */
export class BadRequest extends Error {
  readonly status = 400;
}

/** 404: no such container, image, network, volume or file. */
export class NotFound extends Error {
  readonly status = 404;
}

/** 409: the object is in a state that forbids it (in use, running...). */
export class Conflict extends Error {
  readonly status = 409;
}

/** 403: allowed in general, not for this object (docker's Forbidden). */
export class Forbidden extends Error {
  readonly status = 403;
}
