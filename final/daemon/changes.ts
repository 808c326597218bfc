// `--change` / `-c` of `import` and `commit`: Dockerfile instructions
// that set an image's default config, read by the builder's parser
// (final/build/): a change means what the same line means in a
// Dockerfile. The daemon answers a bad one with 400.
import type { ContainerConfig } from
  '../../chapters/04-aufs-overlay/store.ts';
import { applyChange } from '../build/builder.ts';
import { BadRequest } from './errors.ts';

/** Applies each instruction in turn to a copy of `base`. */
export function applyChanges(base: ContainerConfig, lines: string[])
  : ContainerConfig {
  try {
    return lines.reduce(applyChange, base);
  } catch (err) {
    throw new BadRequest((err as Error).message, { cause: err });
  }
}
