// Validation at the door: a request body is checked against the Engine
// API's types before any handler sees it, so a wrongly typed field is a
// 400 with dockerd's words, never a JavaScript error at a start minutes
// later. dockerd gets this from Go's encoding/json decoding into typed
// structs; we write the types down, as moby's API reference has them
// (swagger.yaml, v1.41), and check with one small walker.
import { BadRequest } from '../errors.ts';
import { MAX_DEPTH } from '../limits.ts';

/** A JSON type as Go decodes it; `null` is accepted everywhere. */
export type Schema =
  | 'string' | 'int' | 'uint' | 'number' | 'bool' | 'any'
  /** strslice: a string or an array of strings (Cmd, Entrypoint). */
  | 'strslice'
  | { array: Schema }
  | { map: Schema }
  | { struct: string; fields: Record<string, Schema> };


const GO_TYPE: Record<string, string> = {
  string: 'string', int: 'int64', uint: 'uint64', number: 'float64',
  bool: 'bool', strslice: 'strslice.StrSlice',
};

function kind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // number, string, object
}

// #region check (unused)
/** Throws a 400 in Go's words if `value` does not fit `schema`. */
export function check(value: unknown, schema: Schema, at: string): void {
  if (value === null || value === undefined || schema === 'any') return;
  const wrong = (type: string) => new BadRequest('json: cannot ' +
    `unmarshal ${kind(value)} into Go struct field ${at} of type ${type}`);
  if (typeof schema === 'string') {
    const ok = schema === 'string' ? typeof value === 'string'
      : schema === 'bool' ? typeof value === 'boolean'
        : schema === 'number' ? typeof value === 'number'
          : schema === 'strslice' ? typeof value === 'string' ||
            (Array.isArray(value) && value.every((s) => typeof s === 'string'))
            : Number.isSafeInteger(value) && (schema === 'int' ||
              (value as number) >= 0);
    if (!ok) throw wrong(GO_TYPE[schema]);
  } else if ('array' in schema) {
    if (!Array.isArray(value)) throw wrong(`[]${name(schema.array)}`);
    value.forEach((v) => check(v, schema.array, at));
  } else if ('map' in schema) {
    if (kind(value) !== 'object') throw wrong(`map[string]${name(schema.map)}`);
    for (const v of Object.values(value)) check(v, schema.map, at);
  } else {
    if (kind(value) !== 'object') throw wrong(schema.struct);
    for (const [k, v] of Object.entries(value as object)) {
      const field = schema.fields[k];
      if (field) check(v, field, `${schema.struct}.${k}`);
    }
  }
}
// #endregion

function name(s: Schema): string {
  return typeof s === 'string' ? GO_TYPE[s] ?? s
    : 'struct' in s ? s.struct : 'array' in s ? `[]${name(s.array)}`
      : `map[string]${name(s.map)}`;
}

/** Refuses nesting deeper than MAX_DEPTH, without recursion. */
export function checkDepth(value: unknown): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_DEPTH) {
      throw new BadRequest(`json: nesting deeper than ${MAX_DEPTH} levels`);
    }
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
}
