// Durations as Go writes them, since docker's flags, Dockerfiles and
// messages all do: time.ParseDuration reads "1m30s", "500ms", "1.5h",
// "-2s" or "0"; Duration.String writes them back ("1m30s", "500ms",
// "1h0m0s"). Nanoseconds in between, as the Engine API's HealthConfig
// counts them. Kept free of imports: the CLI loads it on every call.

const UNITS: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9,
  h: 3600e9,
};

// #region parse-duration
/**
 * Go's time.ParseDuration: a sign, then one or more decimal numbers
 * each with a unit. Throws Go's own message, which docker prints:
 * `time: invalid duration "x"`, `time: missing unit in duration "5"`.
 */
export function parseDuration(text: string): number {
  const quoted = JSON.stringify(text);
  const body = text.replace(/^[-+]/, '');
  if (body === '0') return 0;
  if (!body) throw new Error(`time: invalid duration ${quoted}`);
  const part = /(\d*)(?:\.(\d*))?([^\d.]*)/y;
  let total = 0;
  while (part.lastIndex < body.length) {
    const m = part.exec(body);
    if (!m || (!m[1] && !m[2])) {
      throw new Error(`time: invalid duration ${quoted}`);
    }
    if (!m[3]) throw new Error(`time: missing unit in duration ${quoted}`);
    const unit = UNITS[m[3]];
    if (unit === undefined) {
      throw new Error(`time: unknown unit ${JSON.stringify(m[3])} in ` +
        `duration ${quoted}`);
    }
    total += Number(`${m[1] || 0}.${m[2] || 0}`) * unit;
  }
  total = Math.round(total);
  return text.startsWith('-') ? -total : total;
}
// #endregion

/** Go's Duration.String: "0s", "500ms", "1.5s", "1m30s", "1h0m0s". */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  let left = Math.abs(ns);
  let text: string;
  if (left < 1e3) text = `${left}ns`;
  else if (left < 1e6) text = `${decimal(left, 1e3)}µs`;
  else if (left < 1e9) text = `${decimal(left, 1e6)}ms`;
  else {
    const h = Math.floor(left / 3600e9);
    left -= h * 3600e9;
    const m = Math.floor(left / 60e9);
    const s = `${decimal(left - m * 60e9, 1e9)}s`;
    text = h ? `${h}h${m}m${s}` : m ? `${m}m${s}` : s;
  }
  return ns < 0 ? `-${text}` : text;
}

/** `value / unit` with the fraction's trailing zeros dropped. */
function decimal(value: number, unit: number): string {
  const whole = Math.floor(value / unit);
  const digits = String(unit).length - 1;
  const frac = String(value - whole * unit).padStart(digits, '0')
    .replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}
