// `docker rename`: a new name for a container, running or not. Only the
// record changes; what was made from the old name at the start (the
// hostname defaults to the id, not the name) stays.
import { BadRequest, Conflict } from '../errors.ts';
import type { Container } from './container.ts';
import { freeName } from './create.ts';
import type { Containers } from './registry.ts';

// #region rename (unused)
/** moby's daemon.ContainerRename: its checks, its words, its event. */
export function renameContainer(containers: Containers,
  container: Container, wanted: string): void {
  if (!wanted) {
    throw new BadRequest('Neither old nor new names may be empty');
  }
  const oldName = container.rec.Name;
  if (`/${wanted.replace(/^\//, '')}` === oldName) {
    throw new BadRequest('Renaming a container with the same name as ' +
      'its current name');
  }
  let name: string;
  try {
    name = freeName(containers, wanted,
      `/${wanted.replace(/^\//, '')}`);
  } catch (err) {
    const Wrap = err instanceof Conflict ? Conflict : BadRequest;
    throw new Wrap('Error when allocating new name: ' +
      (err as Error).message, { cause: err });
  }
  container.rec.Name = `/${name}`;
  try {
    container.save();
  } catch (err) {
    container.rec.Name = oldName; // the record on disk kept it too
    throw err;
  }
  containers.event(container, 'rename', { oldName });
}
// #endregion
