// Pulls named regions out of source files for the book.
//
// A region is the lines between `// #region name` and `// #endregion`
// (or `# #region` in shell scripts). Nested region markers are dropped
// from the text, so an outer region reads as plain code.
import { readFileSync } from 'node:fs';

const START = /^\s*(?:\/\/|#)\s*#region\s+([\w-]+)\s*$/;
const END = /^\s*(?:\/\/|#)\s*#endregion\b/;

export class RegionError extends Error {}

/** Every region of a file, by name. */
export function regionsOf(text: string): Map<string, string> {
  const found = new Map<string, string[]>();
  const open: string[] = [];
  for (const line of text.split('\n')) {
    const start = START.exec(line);
    if (start) {
      open.push(start[1]);
      found.set(start[1], []);
      continue;
    }
    if (END.test(line)) {
      open.pop();
      continue;
    }
    for (const name of open) found.get(name)!.push(line);
  }
  return new Map([...found].map(([k, v]) => [k, dedent(v).join('\n')]));
}

function dedent(lines: string[]): string[] {
  const indents = lines.filter((l) => l.trim())
    .map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut));
}

/** One region of one file; throws naming both when it is missing. */
export function readRegion(file: string, name: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new RegionError(`book: source file ${file} not found`);
  }
  const region = regionsOf(text).get(name);
  if (region === undefined) {
    throw new RegionError(`book: region "${name}" not found in ${file}`);
  }
  return region;
}
