// Sizes as docker reads them ("64m", "1.5g"), for every size flag of
// this chapter's demo and of final/'s CLI and engine, and the error
// bad flag input gives. Kept free of imports: `skiff run` loads it.

/** Bad flag input: one line, exit 125, as `docker run` does. */
export class FlagError extends Error {
  readonly exitCode = 125;
}

export function invalid(flag: string, value: string, why: string):
  FlagError {
  return new FlagError(
    `invalid argument ${JSON.stringify(value)} for ${flag}: ${why}`);
}

// #region parse-size
/**
 * Docker's sizes (its RAMInBytes), for --memory, --memory-swap, device
 * rates and the engine's other size flags: "64m", "1.5g", "512k",
 * "64MiB", "100" (bytes); 1k = 1024.
 */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(value.trim());
  if (!m) throw invalid(flag, value, 'expected a size such as 64m');
  const power = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1024 ** power);
}
// #endregion
