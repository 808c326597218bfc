// The network routes: /networks/... (networks.ts, over chapter 05).
import type { Engine } from '../engine.ts';
import { translated } from './error-body.ts';
import { filterNetworks, prunable } from './network-filters.ts';
import { ID, param, route, type Route } from './route.ts';

export function networkRoutes(engine: Engine): Route[] {
  const networks = engine.networks;
  return [
    route('GET', '/networks', (request) => filterNetworks(networks.list(),
      request.query.get('filters'))),
    route('GET', `/networks/${ID}`, (request) =>
      networks.inspect(param(request))),
    route('POST', '/networks/create', (request) => {
      const ipam = request.body?.IPAM?.Config?.[0] ?? {};
      const made = networks.create(request.body?.Name ?? '', ipam.Subnet,
        ipam.Gateway);
      request.res.statusCode = 201;
      return { Id: made.Id, Warning: '' };
    }),
    route('DELETE', `/networks/${ID}`, (request) =>
      networks.remove(param(request))),
    route('POST', '/networks/prune', (request) => ({
      NetworksDeleted: networks.prune(prunable(networks.list(),
        request.query.get('filters'))) })),
  ].map(translated);
}
