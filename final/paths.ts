// Where the engine keeps things. Tests point both at a temp dir through
// SKIFF_ROOT (and SKIFF_SOCK) so they never touch the real engine.

/** The Docker Engine API version whose shapes the daemon follows. */
export const API_VERSION = '1.43';
export const SKIFF_VERSION = '0.1.0';

/** The state root: /var/lib/skiff unless SKIFF_ROOT says otherwise. */
export function defaultRoot(): string {
  return process.env.SKIFF_ROOT || '/var/lib/skiff';
}

/**
 * The daemon's socket: SKIFF_SOCK, else inside SKIFF_ROOT when that is
 * set (a test's engine is then wholly inside its temp dir), else
 * /run/skiff/skiff.sock.
 */
export function defaultSock(): string {
  if (process.env.SKIFF_SOCK) return process.env.SKIFF_SOCK;
  if (process.env.SKIFF_ROOT) return `${process.env.SKIFF_ROOT}/skiff.sock`;
  return '/run/skiff/skiff.sock';
}
