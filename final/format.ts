// How docker shows times and sizes to people: go-units' HumanDuration
// ("Up 3 seconds", "Exited (0) 2 minutes ago") and HumanSize.

// #region human-duration
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}
// #endregion

/**
 * 1.5MB, 4.26kB: decimal units, 3 significant digits, like docker's
 * lists (`system df` shows 4: go-units' HumanSize).
 */
export function humanSize(bytes: number, digits = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (bytes >= 1000 && i < units.length - 1) {
    bytes /= 1000;
    i++;
  }
  return `${Number(bytes.toPrecision(digits))}${units[i]}`;
}

/** `text` cut to `max` characters, the last one an ellipsis. */
export function ellipsis(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Columns padded like docker's tabwriter: three spaces between. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, i) =>
    Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => i === r.length - 1 ? cell
    : cell.padEnd(widths[i] + 3)).join('').trimEnd() + '\n').join('');
}

/**
 * `--format`: "json" prints each item as one JSON line; otherwise a
 * template where {{.Field}} and {{json .Field}} are replaced.
 */
export function applyFormat(format: string, item: Record<string, unknown>)
  : string {
  if (format === 'json' || format === '{{json .}}') {
    return JSON.stringify(item);
  }
  return format.replace(/\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}/g,
    (_, json, path: string) => {
      let v: unknown = item;
      for (const key of path.split('.').filter(Boolean)) {
        v = (v as Record<string, unknown>)?.[key];
      }
      return json ? JSON.stringify(v) : String(v ?? '');
    }).replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/** 1.2MiB, 7.63GiB: binary units, as docker stats shows memory. */
export function binarySize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) {
    bytes /= 1024;
    i++;
  }
  return `${Number(bytes.toFixed(i ? 2 : 0))}${units[i]}`;
}
