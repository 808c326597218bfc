// GET /networks?filters=... and POST /networks/prune?filters=...: which
// networks `docker network ls --filter` lists (docker-py's
// networks.list(names=[...]) sends `name`) and which a prune removes, as
// moby's api/server/router/network/filter.go and daemon/prune.go do.
import { BadRequest } from '../errors.ts';
import { parseFilters } from '../filters.ts';
import type { NetworkResource } from '../networks.ts';

/** docker's predefined networks: never custom, never pruned. */
const BUILTIN = ['bridge', 'host', 'none'];

// #region network-filters (unused)
export function filterNetworks(list: NetworkResource[],
  text: string | null): NetworkResource[] {
  const f = parseFilters(text, ['name', 'id', 'label', 'driver', 'type',
    'scope', 'dangling']);
  for (const type of f.get('type')) {
    if (type !== 'custom' && type !== 'builtin') {
      throw new BadRequest(`invalid filter: 'type'='${type}'`);
    }
  }
  const dangling = f.bool('dangling');
  return list.filter((n) => {
    const builtin = BUILTIN.includes(n.Name);
    const used = builtin || Object.keys(n.Containers).length > 0;
    return f.match('name', n.Name) && f.match('id', n.Id) &&
      f.labels('label', n.Labels) && f.exact('driver', n.Driver) &&
      f.exact('scope', n.Scope) &&
      f.exact('type', builtin ? 'builtin' : 'custom') &&
      (dangling === undefined || dangling !== used);
  });
}
// #endregion

/** The user networks a prune removes: unused, `until`, labels. */
export function prunable(list: NetworkResource[], text: string | null)
  : NetworkResource[] {
  const f = parseFilters(text, ['until', 'label', 'label!']);
  const before = f.createdUntil();
  return list.filter((n) => !BUILTIN.includes(n.Name) &&
    !Object.keys(n.Containers).length && before(Date.parse(n.Created)) &&
    f.pruneLabels(n.Labels));
}
