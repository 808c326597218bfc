// -p as the Engine API carries it (HostConfig.PortBindings), checked
// and read by chapter 05's rules for -p and the network modes.
import {
  fromPortBindings, publishAll, publishMode,
} from '../../../chapters/05-network/ports.ts';
import type { CreateBody, HostConfig } from '../../api-types.ts';
import { BadRequest } from '../errors.ts';

/**
 * HostConfig.PortBindings, checked by chapter 05's rules for -p and for
 * network modes before anything is made, as moby's
 * validateNetContainerMode does (an API client would otherwise learn it
 * only at start, with a container left behind).
 */
export function checkPublishMode(hostConfig: HostConfig): void {
  try {
    publishMode(hostConfig.NetworkMode ?? '',
      fromPortBindings(hostConfig.PortBindings));
  } catch (err) {
    throw new BadRequest((err as Error).message, { cause: err });
  }
}

/**
 * The ports published for a container (-p, and -P's exposed ports):
 * none with `--network host`
 * or `none` (chapter 05's publishMode). Docker keeps
 * HostConfig.PortBindings as sent, warns, and discards them: ps and
 * NetworkSettings.Ports show none.
 */
export function publishedPorts(hostConfig: HostConfig,
  config: Pick<CreateBody, 'ExposedPorts'> = {})
  : NonNullable<HostConfig['PortBindings']> {
  const bindings = hostConfig.PublishAllPorts
    ? publishAll(hostConfig.PortBindings,
      Object.keys(config.ExposedPorts ?? {}))
    : hostConfig.PortBindings ?? {};
  const { ports } = publishMode(hostConfig.NetworkMode ?? '',
    fromPortBindings(bindings));
  return ports.length ? bindings : {};
}

/** The create response's warnings (docker's CLI prints each). */
export function createWarnings(hostConfig: HostConfig): string[] {
  const { warning } = publishMode(hostConfig.NetworkMode ?? '',
    fromPortBindings(hostConfig.PortBindings));
  return warning ? [warning] : [];
}
