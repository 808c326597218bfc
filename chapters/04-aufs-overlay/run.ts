// Demo: chapter 03's container, whose root is an image of this chapter's
// store, unioned under a layer of its own.
//
//   sudo npx tsx chapters/04-aufs-overlay/run.ts [--root DIR]
//     [--name NAME] [chapter 03's flags] <image> [command] [args...]
//
// --root is the store (default $SKIFF_ROOT, else /var/lib/skiff), where
// `demo.ts import` and `demo.ts load` put images. Without a command,
// the image's own (Entrypoint and Cmd), as `docker run`. With --name,
// the container's layer stays after it exits, for `demo.ts diff NAME`,
// `commit` and `rm`; without, it goes with the container.
import { existsSync } from 'node:fs';
import { DEFAULT_PATH } from '../01-chroot/chroot.ts';
import { extend, mainOf, UsageError } from '../02-namespaces/chain.ts';
import { demo as chapter03, type Options as Previous } from
  '../03-cgroups/run.ts';
import { overlayStep, rootfsOf } from './overlay.ts';
import { DEFAULT_ROOT, type Image, ImageStore } from './store.ts';

export interface ImageOptions {
  /** The store's directory. */
  root: string;
  image: string;
  /** The container's name, which is also its id here. */
  name?: string;
}
export type Options = Previous & ImageOptions;

/** The command, environment and directory an image asks for. */
export function imageProcess(img: Image, cmd: string[]) {
  const cfg = img.config.config ?? {};
  const args = [...cfg.Entrypoint ?? [], ...cmd.length ? cmd
    : cfg.Cmd ?? []];
  if (args.length === 0) {
    throw new UsageError(`image "${img.tags[0] ?? img.id}" has no command`);
  }
  return { args, env: cfg.Env ?? [DEFAULT_PATH],
    cwd: cfg.WorkingDir || '/' };
}

// #region main
export const demo = extend<Previous, ImageOptions>(chapter03, {
  flags: {
    '--root': { arg: 'DIR', set: (o, v) => { o.root = v; } },
    '--name': { arg: 'NAME', set: (o, v) => { o.name = v; } },
  },
  options: () => ({ root: DEFAULT_ROOT, image: '' }),
  operands: { usage: '<image> [command] [args...]', read(o, [ref, ...cmd]) {
    if (!ref) throw new UsageError();
    // Not a directory any more: the container would write into it, with
    // no layer of its own, and this chapter's step would be skipped.
    if (ref.includes('/') && existsSync(ref)) {
      throw new UsageError(`"${ref}" is a directory, not an image: ` +
        'import it first (demo.ts import)');
    }
    const img = new ImageStore(o.root).image(ref);
    Object.assign(o, { image: ref }, imageProcess(img, cmd));
  } },
  id: (o) => o.name,
  spec(spec, o, id) { // where the overlay step mounts the image
    spec.root.path = rootfsOf(new ImageStore(o.root), id).merged;
  },
  // A named container keeps its layer, as in `docker ps -a`.
  steps: (o) => [overlayStep(new ImageStore(o.root), o.image,
    { keep: o.name !== undefined })],
});
// #endregion

mainOf(import.meta.url, demo);
