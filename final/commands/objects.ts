// Commands about the engine's objects and the host (images, networks,
// volumes, system, doctor), kept apart from the container commands in
// cli.ts so the two groups can grow independently.
import type { Command } from './command.ts';

type Loader = () => Promise<{ default: Command }>;

// #region object-commands (unused)
export const OBJECT_COMMANDS: Record<string,
  { load: Loader; summary: string }> = {
  images: { load: () => import('./images.ts'), summary: 'List images' },
  image: { load: () => import('./image.ts'), summary: 'Manage images' },
  pull: { load: () => import('./pull.ts'),
    summary: 'Download an image from a registry' },
  push: { load: () => import('./push.ts'),
    summary: 'Upload an image to a registry' },
  load: { load: () => import('./load.ts'),
    summary: 'Load an image from a tar archive or STDIN' },
  save: { load: () => import('./save.ts'),
    summary: 'Save one or more images to a tar archive' },
  import: { load: () => import('./import.ts'),
    summary: 'Import a tarball to create a filesystem image' },
  export: { load: () => import('./export.ts'),
    summary: 'Export a container\'s filesystem as a tar archive' },
  tag: { load: () => import('./tag.ts'),
    summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE' },
  rmi: { load: () => import('./rmi.ts'),
    summary: 'Remove one or more images' },
  history: { load: () => import('./history.ts'),
    summary: 'Show the history of an image' },
  build: { load: () => import('./build.ts'),
    summary: 'Build an image from a Dockerfile' },
  commit: { load: () => import('./commit.ts'),
    summary: 'Create a new image from a container\'s changes' },
  cp: { load: () => import('./cp.ts'), summary: 'Copy files/folders ' +
    'between a container and the local filesystem' },
  network: { load: () => import('./network.ts'),
    summary: 'Manage networks' },
  volume: { load: () => import('./volume.ts'), summary: 'Manage volumes' },
  system: { load: () => import('./system.ts'), summary: 'Manage skiff' },
  events: { load: () => import('./events.ts'),
    summary: 'Get real time events from the server' },
  info: { load: () => import('./info.ts'),
    summary: 'Display system-wide information' },
  version: { load: () => import('./version.ts'),
    summary: 'Show the skiff version information' },
  doctor: { load: () => import('./doctor.ts'),
    summary: 'Check what this host supports and what to install' },
};
// #endregion
