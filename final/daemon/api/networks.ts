// The network routes: /networks/... (networks.ts, over chapter 05).
import type { Engine } from '../engine.ts';
import type { NetworkResource } from '../networks.ts';
import { translated } from './error-body.ts';
import { filterNetworks, prunable } from './network-filters.ts';
import { ID, param, route, type Route } from './route.ts';
import {
  connectContainer, disconnectContainer, networkEvent,
} from '../container/connect.ts';

export function networkRoutes(engine: Engine): Route[] {
  const networks = engine.networks;
  // dockerd's LogNetworkEvent: the network's id, its name and driver.
  const event = (action: string, n: NetworkResource) => engine.events
    .emit('network', action, n.Id, { name: n.Name, type: n.Driver });
  return [
    route('GET', '/networks', (request) => filterNetworks(networks.list(),
      request.query.get('filters'))),
    route('GET', `/networks/${ID}`, (request) =>
      networks.inspect(param(request))),
    route('POST', '/networks/create', (request) => {
      const ipam = request.body?.IPAM?.Config?.[0] ?? {};
      const made = networks.create(request.body?.Name ?? '', ipam.Subnet,
        ipam.Gateway, request.body?.Labels ?? {});
      event('create', made);
      request.res.statusCode = 201;
      return { Id: made.Id, Warning: '' };
    }),
    route('DELETE', `/networks/${ID}`, (request) => {
      const gone = networks.inspect(param(request));
      networks.remove(gone.Id);
      event('destroy', gone);
    }),
    route('POST', `/networks/${ID}/connect`, (request) => {
      const body = request.body ?? {};
      const container = engine.containers.get(body.Container ?? '');
      const name = connectContainer(engine.containers, container,
        param(request), body.EndpointConfig ?? {});
      networkEvent(engine.containers, 'connect', name, container.id);
    }),
    route('POST', `/networks/${ID}/disconnect`, (request) => {
      const body = request.body ?? {};
      const container = engine.containers.get(body.Container ?? '');
      const name = disconnectContainer(engine.containers, container,
        param(request));
      networkEvent(engine.containers, 'disconnect', name,
        container.id);
    }),
    route('POST', '/networks/prune', (request) => {
      const before = networks.list();
      const names = networks.prune(prunable(before,
        request.query.get('filters')));
      for (const n of before.filter((n) => names.includes(n.Name))) {
        event('destroy', n);
      }
      engine.events.emit('network', 'prune', '', { reclaimed: '0' });
      return { NetworksDeleted: names };
    }),
  ].map(translated);
}

