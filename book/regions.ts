// Pulls named regions out of source files for the book.
//
// A region is the lines between `// #region name` and `// #endregion`
// (or `# #region` in shell scripts). Nested region markers are dropped
// from the text, so an outer region reads as plain code.
//
// The build fails on a region no page uses, so that code written for the
// reader cannot silently fall out of the book. A region kept for a page
// not yet written says so: `// #region name (unused)`.
import { readFileSync } from 'node:fs';

const START = /^\s*(?:\/\/|#)\s*#region\s+([\w-]+)(\s+\(unused\))?\s*$/;
const END = /^\s*(?:\/\/|#)\s*#endregion\b/;

/** Widest code line the book accepts, in columns. */
export const MAX_COLUMNS = 80;

export class RegionError extends Error {}

export interface Region {
  name: string;
  /** The region's text, dedented, without nested markers. */
  text: string;
  /** 1-based line of the `#region` marker. */
  line: number;
  /** Marked `(unused)`: allowed to be missing from every page. */
  unusedOk: boolean;
  /** Source line number of each line of `text`. */
  lineNumbers: number[];
}

/** Every region of a file, in order. */
export function parseRegions(text: string): Region[] {
  type Entry = { region: Region; lines: string[] };
  const found: Entry[] = [];
  const open: Entry[] = [];
  text.split('\n').forEach((line, i) => {
    const start = START.exec(line);
    if (start) {
      const entry = {
        region: { name: start[1], text: '', line: i + 1,
          unusedOk: Boolean(start[2]), lineNumbers: [] },
        lines: [] as string[],
      };
      found.push(entry);
      open.push(entry);
      return;
    }
    if (END.test(line)) {
      open.pop();
      return;
    }
    for (const o of open) {
      o.lines.push(line);
      o.region.lineNumbers.push(i + 1);
    }
  });
  return found.map(({ region, lines }) => ({
    ...region, text: dedent(lines).join('\n'),
  }));
}

/** Every region of a file, by name. */
export function regionsOf(text: string): Map<string, string> {
  return new Map(parseRegions(text).map((r) => [r.name, r.text]));
}

function dedent(lines: string[]): string[] {
  const indents = lines.filter((l) => l.trim())
    .map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut));
}

/** Does this file define any region? Cheap test before parsing. */
export function definesRegions(text: string): boolean {
  return /#region\s/.test(text);
}

/**
 * One region of one file; throws naming both when it is missing, and
 * naming the line when one is wider than the page.
 */
export function readRegion(file: string, name: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new RegionError(`book: source file ${file} not found`);
  }
  const region = parseRegions(text).find((r) => r.name === name);
  if (region === undefined) {
    throw new RegionError(`book: region "${name}" not found in ${file}`);
  }
  region.text.split('\n').forEach((line, i) => {
    const width = [...line].length;
    if (width > MAX_COLUMNS) {
      throw new RegionError(`book: ${file}:${region.lineNumbers[i]}: line ` +
        `of region "${name}" is ${width} columns (max ${MAX_COLUMNS})`);
    }
  });
  return region.text;
}
