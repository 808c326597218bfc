// GET /system/df (docker system df): what the engine's objects take on
// disk. Layers are counted once however many images list them; an
// image's SharedSize is what it shares with other images; a container's
// SizeRw is its own layer, SizeRootFs that plus its image; a volume's
// size is its files'. Sizes as docker counts them (final/du.ts).
import { rootfsOf } from '../../chapters/04-aufs-overlay/overlay.ts';
import { treeSize } from '../du.ts';
import { summary } from './api/inspect.ts';
import type { Engine } from './engine.ts';

// #region disk-usage (unused)
export function diskUsage(engine: Engine) {
  const store = engine.images.store;
  const images = engine.images.list();
  const layerSize = (diffId: string) => store.layerMeta(diffId).size;
  const listing = new Map<string, number>(); // diff ID -> images
  for (const image of images) {
    for (const d of new Set(image.Layers)) {
      listing.set(d, (listing.get(d) ?? 0) + 1);
    }
  }
  const containers = engine.containers.list();
  const users = (id: string) =>
    containers.filter((c) => c.rec.Image === id).length;
  return {
    LayersSize: [...listing.keys()].reduce((n, d) => n + layerSize(d), 0),
    Images: images.map((image) => ({
      Id: image.Id, ParentId: '', RepoTags: image.RepoTags,
      RepoDigests: [], Created: image.Created, Size: image.Size,
      SharedSize: [...new Set(image.Layers)].filter((d) =>
        listing.get(d)! > 1).reduce((n, d) => n + layerSize(d), 0),
      VirtualSize: image.Size, Labels: image.Config.Labels ?? {},
      Containers: users(image.Id),
    })),
    Containers: containers.map((c) => {
      const rw = treeSize(rootfsOf(store, c.id).upper);
      const image = images.find((i) => i.Id === c.rec.Image);
      // docker's CLI counts the mounts with a (volume) driver.
      const mounts = c.rec.Mounts.map((m) => m.Type === 'volume'
        ? { ...m, Driver: 'local' } : m);
      return { ...summary(c, engine.net), Mounts: mounts, SizeRw: rw,
        SizeRootFs: rw + (image?.Size ?? 0) };
    }),
    Volumes: engine.volumes.list().map((volume) => ({ ...volume,
      UsageData: { Size: treeSize(volume.Mountpoint),
        RefCount: engine.containers.usersOf(volume.Name).length } })),
    // The classic builder's cache is images: counted above, as dockerd
    // (BuildKit's records would be here).
    BuildCache: [], BuilderSize: 0,
  };
}
// #endregion
