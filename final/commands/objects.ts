// Commands about the engine's objects and the host (images, networks,
// volumes, system, doctor), kept apart from the container commands in
// cli.ts so the two groups can grow independently.
import type { Command } from './command.ts';

type Loader = () => Promise<{ default: Command }>;

export const OBJECT_COMMANDS: Record<string,
  { load: Loader; summary: string }> = {
  images: { load: () => import('./images.ts'), summary: 'List images' },
  volume: { load: () => import('./volume.ts'), summary: 'Manage volumes' },
  system: { load: () => import('./system.ts'), summary: 'Manage skiff' },
  info: { load: () => import('./info.ts'),
    summary: 'Display system-wide information' },
  version: { load: () => import('./version.ts'),
    summary: 'Show the skiff version information' },
  doctor: { load: () => import('./doctor.ts'),
    summary: 'Check what this host supports and what to install' },
};
