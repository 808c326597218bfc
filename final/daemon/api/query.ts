// Query parameters checked at the door, as request bodies are (schema.ts
// and schemas.ts): each route's parameters have a type, and a value that
// does not fit is a 400 before the route does anything. dockerd reads
// them with Go's strconv in each handler, some as 400s, some (stop's
// `t`, logs' `since`) as 500s; we keep its words and make them all 400s.
// A parameter a route does not list is ignored, as dockerd ignores it.
import { parseSignal } from '../../../chapters/02-namespaces/signals.ts';
import { unixNs } from '../../timestamps.ts';
import { BadRequest } from '../errors.ts';
import { parseFilters } from '../filters.ts';

/**
 * What a parameter holds. `bool` is moby's httputils.BoolValue: "",
 * "0", "no", "false", "none" are false and anything else true, so no
 * value is wrong (dockerd answers `all=maybe` with 200 too); it is
 * listed all the same, so that the table names every parameter.
 */
export type Param =
  | 'bool' | 'string'
  /** Go's strconv.Atoi: an optional sign and digits. */
  | 'int'
  /** A terminal's rows or columns: required, 0..65535 (a u16). */
  | 'size'
  /** A signal by name or number (signal(7)), dockerd's ParseSignal. */
  | 'signal'
  /** Unix seconds with an optional fraction (timestamps.ts). */
  | 'unix'
  /** A JSON object (filters.ts reads the keys a route knows). */
  | 'filters' | 'json'
  /** A container name, docker's regex (moby's daemon/names). */
  | 'name'
  | { oneOf: string[] };

// #region query-check (unused)
type Check = (value: string, name: string) => void;

const atoi = (value: string) => {
  if (!/^[+-]?\d+$/.test(value)) {
    throw new BadRequest(`strconv.Atoi: parsing "${value}": invalid syntax`);
  }
  if (!Number.isSafeInteger(Number(value))) {
    throw new BadRequest(`strconv.Atoi: parsing "${value}": value out of ` +
      'range');
  }
};

const CHECKS: Record<Exclude<Param, object>, Check> = {
  bool: () => {},
  string: () => {},
  int: atoi,
  size: (value, name) => {
    atoi(value);
    if (Number(value) < 0 || Number(value) > 0xffff) {
      throw new BadRequest(`invalid ${name}: ${value} is out of range ` +
        '(0 to 65535)');
    }
  },
  signal: (value) => {
    try {
      parseSignal(value);
    } catch (err) {
      throw new BadRequest(`Invalid signal: ${value}`, { cause: err });
    }
  },
  unix: (value, name) => {
    if (unixNs(value) === undefined) {
      throw new BadRequest(`invalid value for "${name}": "${value}" is ` +
        'not Unix seconds');
    }
  },
  filters: (value) => void parseFilters(value),
  json: (value, name) => {
    try {
      JSON.parse(value);
    } catch (err) {
      throw new BadRequest(`${name}: invalid JSON`, { cause: err });
    }
  },
  name: (value) => {
    if (!/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(value)) {
      throw new BadRequest(`Invalid container name (${value}), only ` +
        '[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
    }
  },
};

/** Types where an absent parameter is as wrong as a bad one. */
const REQUIRED = new Set<Param>(['size']);

function checkOne(type: Param, value: string, name: string): void {
  if (typeof type === 'object') {
    if (!type.oneOf.includes(value)) {
      throw new BadRequest(`invalid ${name}: "${value}" (one of ` +
        `${type.oneOf.join(', ')})`);
    }
    return;
  }
  CHECKS[type](value, name);
}

/** Checks a request's query before its route runs: a 400 if wrong. */
export function checkQuery(method: string, path: string,
  query: URLSearchParams): void {
  const found = QUERIES.find(([m, p]) => m === method && p.test(path));
  if (!found) return;
  const [, , params, rule] = found;
  for (const [name, type] of Object.entries(params)) {
    const values = query.getAll(name);
    if (!values.length && REQUIRED.has(type)) values.push('');
    // An empty value is an absent one (stop's t=, kill's signal=), as
    // dockerd's `if v := r.Form.Get(...); v != ""`.
    for (const v of values) {
      if (v !== '' || REQUIRED.has(type)) checkOne(type, v, name);
    }
  }
  rule?.(query);
}
// #endregion

const bools = (...names: string[]): Record<string, Param> =>
  Object.fromEntries(names.map((name) => [name, 'bool']));
const C = '/containers/[^/]+';
const LIST = { filters: 'filters' } as const;

/** logs: dockerd refuses a request for neither stream. */
function someStream(query: URLSearchParams): void {
  const on = (name: string) => !['', '0', 'no', 'false', 'none']
    .includes((query.get(name) ?? '').trim().toLowerCase());
  if (!on('stdout') && !on('stderr')) {
    throw new BadRequest('Bad parameters: you must choose at least one ' +
      'stream');
  }
}

// #region query-schemas (unused)
/**
 * [method, path, parameters, a rule across them]: the Engine API's
 * query parameters (v1.43) for the routes skiff serves.
 */
const QUERIES: [string, RegExp, Record<string, Param>,
  ((query: URLSearchParams) => void)?][] = [
  ['GET', /^\/containers\/json$/, { ...bools('all', 'size'),
    limit: 'int', ...LIST }],
  ['POST', /^\/containers\/create$/, { name: 'name', platform: 'string' }],
  ['GET', RegExp(`^${C}/json$`), bools('size')],
  ['POST', RegExp(`^${C}/(stop|restart)$`), { t: 'int', signal: 'signal' }],
  ['POST', RegExp(`^${C}/kill$`), { signal: 'signal' }],
  ['POST', RegExp(`^${C}/wait$`),
    { condition: { oneOf: ['not-running', 'next-exit', 'removed'] } }],
  ['POST', RegExp(`^(${C}|/exec/[^/]+)/resize$`), { h: 'size', w: 'size' }],
  ['DELETE', RegExp(`^${C}$`), bools('v', 'force', 'link')],
  ['GET', RegExp(`^${C}/logs$`), { ...bools('follow', 'stdout', 'stderr',
    'timestamps'), since: 'unix', until: 'unix', tail: 'string' },
  someStream],
  ['GET', RegExp(`^${C}/stats$`), bools('stream', 'one-shot')],
  ['POST', /^\/(containers|images|networks|volumes)\/prune$/, LIST],
  ['GET', /^\/(images\/json|networks|volumes)$/,
    { ...bools('all', 'digests'), ...LIST }],
  ['DELETE', /^\/(images|volumes)\/.+$/, bools('force', 'noprune')],
  ['POST', /^\/commit$/, { ...bools('pause'), container: 'string' }],
  ['POST', /^\/build$/, { ...bools('q', 'nocache', 'rm', 'forcerm',
    'pull'), memory: 'int', memswap: 'int', cpushares: 'int',
  cpuperiod: 'int', cpuquota: 'int', shmsize: 'int', buildargs: 'json',
  labels: 'json', cachefrom: 'json' }],
  ['POST', /^\/build\/prune$/, { ...bools('all'), 'keep-storage': 'int',
    ...LIST }],
  ['GET', /^\/events$/, { since: 'unix', until: 'unix', ...LIST }],
];
// #endregion
