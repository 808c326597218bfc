// Which events a GET /events client wants: docker's `filters` query,
// matched as moby's daemon/events/filter.go does. Every key given must
// match (AND across keys); any one of a key's values does (OR within a
// key), except `label`, whose values must all hold (docker's
// MatchKVList). The query itself is parsed by filters.ts.
import type { EngineEvent } from './events.ts';
import type { Filters } from './filters.ts';

// #region event-filter
/** Keys naming an object of a type: its id or name, by prefix. */
const BY_NAME = ['container', 'daemon', 'network', 'volume', 'plugin',
  'node', 'service', 'secret', 'config'];

export function eventMatches(event: EngineEvent, filters: Filters)
  : boolean {
  const exact = (key: string, value: string) =>
    !filters.get(key).length || filters.get(key).includes(value);
  // A prefix of the id or name: `container=web` and `container=3f2a`.
  const fuzzy = (key: string, value = '') => exact(key, value) ||
    filters.get(key).some((wanted) => value.startsWith(wanted));
  const { ID: id, Attributes: attrs } = event.Actor;
  return matchAction(event.Action, filters.get('event')) &&
    exact('type', event.Type) && exact('scope', event.scope) &&
    BY_NAME.every((key) => fuzzy(key, id) || fuzzy(key, attrs.name)) &&
    matchImage(event, exact) && matchLabels(attrs, filters.get('label'));
}
// #endregion

/**
 * `event=exec_start` finds "exec_start: sh -c ..." (docker matches by
 * prefix when a value is one of those whose action carries more).
 */
function matchAction(action: string, wanted: string[]): boolean {
  if (!wanted.length) return true;
  const prefixed = ['health_status', 'exec_create', 'exec_start'];
  if (wanted.some((value) => prefixed.includes(value))) {
    return wanted.some((value) => action.startsWith(value));
  }
  return wanted.includes(action);
}

/**
 * `image=`: an image event's id or name, a container event's image;
 * each also without its tag (`image=busybox` finds busybox:latest).
 */
function matchImage(event: EngineEvent,
  exact: (key: string, value: string) => boolean): boolean {
  const id = event.Actor.ID;
  const name = event.Actor.Attributes[
    event.Type === 'image' ? 'name' : 'image'] ?? '';
  return [id, name, stripTag(id), stripTag(name)]
    .some((value) => exact('image', value));
}

/** "busybox:latest" -> "busybox"; "host:5000/a:v1" -> "host:5000/a". */
function stripTag(ref: string): string {
  if (/^sha256:/.test(ref)) return ref;
  return ref.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
}

/** Every `label=KEY` or `label=KEY=VALUE` must hold. */
function matchLabels(attrs: Record<string, string>, wanted: string[])
  : boolean {
  return wanted.every((value) => {
    const [key, ...rest] = value.split('=');
    return key in attrs && (!rest.length || attrs[key] === rest.join('='));
  });
}
