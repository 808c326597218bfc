// How big a request may be. dockerd has almost no limits of its own: it
// decodes any body, keeps any label, and fails later (a 500 from mkdir
// for a volume name past NAME_MAX, E2BIG from execve(2) at the start of
// a container whose environment is too large). skiff refuses those at
// the door with a 400 that says which limit, and documents them in
// final/README.md ("Limits").

// #region limits
/**
 * A JSON body: 4 MiB. The largest real one, a create with every field,
 * is a few KiB; a body past this is read and dropped, never kept.
 */
export const MAX_JSON_BODY = 4 << 20;

/**
 * Nesting: Go's encoding/json stops at 10,000 levels; we at 64 (no API
 * type is deeper than 6), and count them without recursion.
 */
export const MAX_DEPTH = 64;

/**
 * One environment string, or one label (key and value): the kernel's
 * MAX_ARG_STRLEN, 32 pages (execve(2): "E2BIG ... the maximum length of
 * a single string"). An env entry past it cannot reach the process; a
 * label gets the same bound, as labels travel in every `ps` and event.
 */
export const MAX_STRING = 32 * 4096;

/**
 * A name that becomes a file (volume, network): NAME_MAX, 255 bytes
 * (a longer one fails mkdir(2) with ENAMETOOLONG, a 500 in dockerd).
 */
export const MAX_NAME = 255;
// #endregion
