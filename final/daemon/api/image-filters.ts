// GET /images/json?filters=... and POST /images/prune?filters=...: the
// images `docker images --filter` lists and `docker image prune`
// removes, as moby's daemon/images (list.go, prune.go) selects them.
import { compilePattern } from '../../build/ignore.ts';
import type { Engine } from '../engine.ts';
import { BadRequest } from '../errors.ts';
import { type Filters, parseFilters } from '../filters.ts';
import { familiar, type Image } from '../images.ts';

// #region image-filters (unused)
/** The images listed, each with only the tags `reference` matched. */
export function filterImages(engine: Engine, text: string | null)
  : Image[] {
  const f = parseFilters(text, ['dangling', 'label', 'before', 'since',
    'reference']);
  const dangling = f.bool('dangling');
  const before = createdOf(engine, f, 'before');
  const since = createdOf(engine, f, 'since');
  const out: Image[] = [];
  for (const image of engine.images.list()) {
    if (dangling !== undefined && dangling !== !image.RepoTags.length) {
      continue;
    }
    if (!f.labels('label', image.Config.Labels)) continue;
    if (before.some((time) => image.Created >= time)) continue;
    if (since.some((time) => image.Created <= time)) continue;
    const tags = image.RepoTags.filter((tag) => referenced(f, tag));
    // A reference filter drops the untagged, and those it matches not.
    if (f.has('reference') && !tags.length) continue;
    out.push({ ...image, RepoTags: tags });
  }
  return out;
}

/**
 * docker's reference.FamiliarMatch: a path.Match pattern against the
 * familiar name ("busybox") or the name with its tag ("busybox:1").
 */
function referenced(f: Filters, tag: string): boolean {
  const full = familiar(tag);
  const name = full.slice(0, full.lastIndexOf(':'));
  return !f.has('reference') || f.get('reference').some((pattern) => {
    const re = compilePattern(pattern);
    return re.test(name) || re.test(full);
  });
}
// #endregion

/** The Created (Unix seconds) of the images named by `key`. */
function createdOf(engine: Engine, f: Filters, key: string): number[] {
  return f.get(key).map((ref) => {
    const image = engine.images.find(ref);
    if (!image) throw new BadRequest(`No such image: ${ref}`);
    return image.Created;
  });
}

// #region image-prune (unused)
/**
 * Images `docker image prune` removes: dangling ones (dangling=false:
 * every unused one), created before `until`, with the labels asked.
 * In use by a container (any state), never.
 */
export function pruneImages(engine: Engine, text: string | null)
  : Image[] {
  const f = parseFilters(text, ['dangling', 'until', 'label', 'label!']);
  const danglingOnly = f.bool('dangling') ?? true;
  const before = f.createdUntil();
  const used = new Set(engine.containers.list().map((container) =>
    container.rec.Image));
  return engine.images.list().filter((image) =>
    !used.has(image.Id) && (!danglingOnly || !image.RepoTags.length) &&
    before(image.Created * 1000) && f.pruneLabels(image.Config.Labels));
}
// #endregion
