// Demo: an image store and union-mounted containers, one subcommand each.
//
//   sudo npx tsx chapters/04-aufs-overlay/demo.ts [--root DIR] <command>
//
//   import <tarball> <name> [--cmd "sh -c ..."]   a rootfs as an image
//   load <archive|dir>                 docker-archive or OCI layout
//   save <image> <path> [--format docker|oci]
//   images | history <image> | tag <src> <dst> | rmi [-f] <image>
//   run [--name <c>] <image> [cmd...]  run.ts with this store
//   mount <c> <image> | umount <c>     mount without running
//   diff <c> | commit <c> <image> [-m msg] | export <c> <file> | rm <c>
//   layers <image>                     where the layers are on disk
import { statSync } from 'node:fs';
import { exitWithError } from '../01-chroot/fail.ts';
import { runDemo } from '../02-namespaces/chain.ts';
import { importRootfs, loadImages, saveImages } from './archive.ts';
import {
  commitRootfs, createRootfs, diffRootfs, exportRootfs, mountRootfs,
  removeRootfs, rootfsOf, unmountRootfs, unionDriver,
} from './overlay.ts';
import { demo } from './run.ts';
import { DEFAULT_ROOT, type Image, ImageStore, short } from './store.ts';

function take(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  if (value === undefined) throw new Error(`${flag} needs a value`);
  return value;
}

function ago(iso?: string): string {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)} seconds ago`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
  return `${Math.floor(s / 3600)} hours ago`;
}

function mb(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)}kB`
    : `${(bytes / 1e6).toFixed(1)}MB`;
}

function table(rows: string[][]): void {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) {
    console.log(r.map((c, i) => c.padEnd(w[i])).join('   ').trimEnd());
  }
}

function printImages(store: ImageStore, images: Image[]): void {
  const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
  for (const img of images) {
    const size = mb(store.size(img));
    const when = ago(img.config.created);
    const tags = img.tags.length ? img.tags : ['<none>:<none>'];
    for (const t of tags) {
      const c = t.lastIndexOf(':');
      rows.push([t.slice(0, c), t.slice(c + 1), short(img.id), when, size]);
    }
  }
  table(rows);
}

/**
 * `run` is this chapter's run.ts (chapter 03's container on an image of
 * the store), with the store given to this CLI.
 */
function run(store: ImageStore, args: string[]): Promise<number> {
  return runDemo(demo, ['--root', store.root, ...args]);
}

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const store = new ImageStore(take(args, '--root') ?? DEFAULT_ROOT);
  const [cmd, ...rest] = args;
  switch (cmd) {
    case 'import': {
      const command = take(rest, '--cmd');
      const [file, ref] = rest;
      const img = await importRootfs(store, file, { ref,
        changes: command ? { Cmd: command.split(' ') } : {} });
      console.log(img.id);
      return 0;
    }
    case 'load':
      for (const img of await loadImages(store, rest[0])) {
        console.log(`Loaded image: ${img.tags[0] ?? img.id}`);
      }
      return 0;
    case 'save': {
      const format = take(rest, '--format') ?? 'docker';
      if (format !== 'docker' && format !== 'oci') {
        throw new Error(`unknown format "${format}"`);
      }
      saveImages(store, [rest[0]], rest[1], format);
      return 0;
    }
    case 'images':
      printImages(store, store.images());
      return 0;
    case 'history': {
      const img = store.image(rest[0]);
      const rows = [['CREATED', 'CREATED BY', 'COMMENT']];
      for (const h of [...(img.config.history ?? [])].reverse()) {
        rows.push([ago(h.created), h.created_by ?? '', h.comment ?? '']);
      }
      table(rows);
      return 0;
    }
    case 'tag':
      store.tag(rest[0], rest[1]);
      return 0;
    case 'rmi': {
      const force = rest[0] === '-f';
      const r = store.remove(force ? rest[1] : rest[0], { force });
      for (const t of r.untagged) console.log(`Untagged: ${t}`);
      for (const d of r.deleted) console.log(`Deleted: ${d}`);
      return 0;
    }
    case 'run':
      return run(store, rest);
    case 'mount':
      createRootfs(store, rest[0], rest[1]);
      console.log(mountRootfs(store, rest[0]));
      return 0;
    case 'umount':
      unmountRootfs(store, rest[0]);
      return 0;
    case 'rm':
      if (!rootfsOf(store, rest[0]).image) {
        throw new Error(`no such container: ${rest[0]}`);
      }
      removeRootfs(store, rest[0]);
      return 0;
    case 'diff':
      for (const c of diffRootfs(store, rest[0])) {
        console.log(`${c.kind} ${c.path}`);
      }
      return 0;
    case 'commit': {
      const message = take(rest, '-m');
      const img = await commitRootfs(store, rest[0], { ref: rest[1],
        message });
      console.log(img.id);
      return 0;
    }
    case 'export':
      exportRootfs(store, rest[0], rest[1]);
      return 0;
    case 'layers': {
      const img = store.image(rest[0]);
      console.log(`driver: ${unionDriver()}`);
      img.config.rootfs.diff_ids.forEach((d, i) => {
        const m = store.layerMeta(d);
        console.log(`${i + 1}  ${short(d)}  ${mb(m.size).padStart(7)}  ` +
          `l/${m.link} -> layers/${short(d)}…/diff  inode ${
            statSync(store.diffDir(d)).ino}`);
      });
      return 0;
    }
    default:
      throw new Error('usage: demo.ts [--root DIR] import|load|save|images|' +
        'history|tag|rmi|run|mount|umount|diff|commit|export|rm|layers ...');
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), exitWithError);
