// The `filters` query parameter of docker's list and prune routes, parsed
// once: JSON mapping each key to its values. Clients send two shapes:
// `{"label":["a=b"]}` (docker-py, the API reference) and the map of
// booleans `{"label":{"a=b":true}}` that docker's CLI and older clients
// send (moby's api/types/filters accepts both). Values of one key widen
// the selection, different keys narrow it; labels are the exception, as
// in moby: every `label` value must match.
import { BadRequest } from './errors.ts';

// #region filters
export class Filters {
  constructor(private readonly fields: Map<string, string[]>) {}

  has(key: string): boolean {
    return (this.fields.get(key)?.length ?? 0) > 0;
  }

  get(key: string): string[] {
    return this.fields.get(key) ?? [];
  }

  /** No value for `key`, or one equal to `source`. */
  exact(key: string, source: string): boolean {
    return !this.has(key) || this.get(key).includes(source);
  }

  /**
   * moby's Args.Match: no value, or one equal to `source`, or one that
   * is a regular expression found in it ("zer" matches "/zero").
   */
  match(key: string, source: string): boolean {
    return !this.has(key) || this.get(key).some((value) =>
      value === source || regexpFinds(value, source));
  }

  /** Every `key=value` (or bare `key`) value is among the labels. */
  labels(key: string, labels: Record<string, string> = {}): boolean {
    return this.get(key).every((value) => {
      const at = value.indexOf('=');
      if (at < 0) return Object.hasOwn(labels, value);
      const name = value.slice(0, at);
      return Object.hasOwn(labels, name) && labels[name] ===
        value.slice(at + 1);
    });
  }
// #endregion

  /** `label` and `label!` as prune reads them (moby's matchLabels). */
  pruneLabels(labels: Record<string, string> = {}): boolean {
    if (!this.labels('label', labels)) return false;
    return !this.has('label!') || !this.labels('label!', labels);
  }

  /** A true/false key: undefined when absent; 400 for other values. */
  bool(key: string): boolean | undefined {
    const values = this.get(key).map((value) => value.toLowerCase());
    if (!values.length) return undefined;
    const bad = values.find((value) =>
      !['true', 'false', '1', '0'].includes(value));
    if (bad !== undefined || new Set(values.map((value) =>
      value === 'true' || value === '1')).size > 1) {
      // dockerd's words: invalid filter 'dangling=[maybe]'
      throw new BadRequest(`invalid filter '${key}=[${this.get(key)
        .join(' ')}]'`);
    }
    return values[0] === 'true' || values[0] === '1';
  }

  /**
   * prune's `until`: objects created after it are kept. Unix seconds,
   * a date, or a Go duration back from now (moby's GetTimestamp).
   */
  createdUntil(now = Date.now()): (createdMs: number) => boolean {
    const values = this.get('until');
    if (values.length > 1) {
      throw new BadRequest('more than one until filter specified');
    }
    if (!values.length) return () => true;
    const until = Number(timestampNs(values[0], now) / 1_000_000n);
    return (createdMs) => createdMs <= until;
  }
}

function regexpFinds(pattern: string, source: string): boolean {
  try {
    return new RegExp(pattern).test(source);
  } catch {
    return false; // not a regular expression: only exact matches
  }
}

// #region parse-filters
/**
 * GET ...?filters=JSON, checked against the keys the route knows:
 * docker answers an unknown one with 400 "invalid filter 'colour'".
 */
export function parseFilters(text: string | null,
  accepted: readonly string[]): Filters {
  const fields = new Map<string, string[]>();
  if (!text) return new Filters(fields);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`invalid filter: ${(err as Error).message}`,
      { cause: err });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new BadRequest(`invalid filter: ${text}`);
  }
  for (const [key, raw] of Object.entries(json)) {
    const values = raw === null ? [] : Array.isArray(raw) ? raw.map(String)
      : typeof raw === 'object' ? Object.entries(raw)
        .filter(([, on]) => on).map(([value]) => value)
        : [String(raw)];
    if (!accepted.includes(key)) {
      throw new BadRequest(`invalid filter '${key}'`);
    }
    fields.set(key, values);
  }
  return new Filters(fields);
}
// #endregion

// #region timestamps (unused)
const UNITS: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9,
  h: 3600e9,
};

const PART = /(\d*\.?\d+)(ns|us|µs|μs|ms|s|m|h)/.source;
const DURATION = new RegExp(`^([-+]?)((?:${PART})+)$`);

/** Go's time.ParseDuration, in ns; undefined when it is not one. */
export function goDurationNs(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  let ns = 0;
  for (const [, n, unit] of m[2].matchAll(new RegExp(PART, 'g'))) {
    ns += Number(n) * UNITS[unit];
  }
  return m[1] === '-' ? -ns : ns;
}

/**
 * A moment as docker's clients and filters write it, in ns since the
 * epoch: Unix seconds with an optional fraction ("1733331600.5"), an
 * RFC 3339 time or date, or a Go duration back from `now` ("10m").
 * moby's api/types/time GetTimestamp and ParseTimestamps.
 */
export function timestampNs(text: string, now = Date.now()): bigint {
  const unix = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (unix) {
    return BigInt(unix[1]) * 1_000_000_000n +
      BigInt((unix[2] ?? '').padEnd(9, '0'));
  }
  const back = text === '0' ? undefined : goDurationNs(text);
  if (back !== undefined) {
    return BigInt(now) * 1_000_000n - BigInt(Math.round(back));
  }
  const ns = rfc3339Ns(text);
  if (ns === undefined) {
    throw new BadRequest(`failed to parse value as time or duration: ` +
      `"${text}"`);
  }
  return ns;
}

const RFC3339 = new RegExp('^(\\d{4}-\\d\\d-\\d\\d(?:[T ]\\d\\d:\\d\\d' +
  '(?::\\d\\d)?)?)(?:\\.(\\d{1,9}))?(Z|[+-]\\d\\d:?\\d\\d)?$');

/** An RFC 3339 time (nanoseconds kept) or a date, in ns. */
export function rfc3339Ns(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  // Without a zone docker reads the daemon's local time, as Date does
  // for a date with a time; a bare date gets midnight, local too.
  const base = m[1].includes(':') || m[1].includes('T') ? m[1]
    : `${m[1]}T00:00`;
  const ms = Date.parse(base.replace(' ', 'T') + (m[3] ?? ''));
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
// #endregion
