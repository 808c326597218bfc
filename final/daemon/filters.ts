// The `filters` query parameter of docker's list and prune routes, parsed
// once: JSON mapping each key to its values. Clients send two shapes:
// `{"label":["a=b"]}` (docker-py, the API reference) and the map of
// booleans `{"label":{"a=b":true}}` that docker's CLI and older clients
// send (moby's api/types/filters accepts both). Values of one key widen
// the selection, different keys narrow it; labels are the exception, as
// in moby: every `label` value must match.
import { timestampNs } from '../timestamps.ts';
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
    let until: number;
    try {
      until = Number(timestampNs(values[0], now) / 1_000_000n);
    } catch (err) {
      throw new BadRequest((err as Error).message, { cause: err });
    }
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
 * GET /events passes no list: moby takes any key there.
 */
export function parseFilters(text: string | null,
  accepted?: readonly string[]): Filters {
  const fields = new Map<string, string[]>();
  if (!text) return new Filters(fields);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // JSON.parse's own words name a token, not the parameter.
    throw new BadRequest(`invalid filter: ${JSON.stringify(text)} is not ` +
      'JSON', { cause: err });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new BadRequest(`invalid filter: ${text}`);
  }
  for (const [key, raw] of Object.entries(json)) {
    const values = raw === null ? [] : Array.isArray(raw) ? raw.map(String)
      : typeof raw === 'object' ? Object.entries(raw)
        .filter(([, on]) => on).map(([value]) => value)
        : [String(raw)];
    if (accepted && !accepted.includes(key)) {
      throw new BadRequest(`invalid filter '${key}'`);
    }
    fields.set(key, values);
  }
  return new Filters(fields);
}
// #endregion
