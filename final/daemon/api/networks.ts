// The network routes: /networks/... (networks.ts, over chapter 05).
import type { Engine } from '../engine.ts';
import { translated } from './error-body.ts';
import { ID, param, route, type Route } from './route.ts';
import {
  connectContainer, disconnectContainer, networkEvent,
} from '../container/connect.ts';

export function networkRoutes(engine: Engine): Route[] {
  const networks = engine.networks;
  return [
    route('GET', '/networks', () => networks.list()),
    route('GET', `/networks/${ID}`, (request) =>
      networks.inspect(param(request))),
    route('POST', '/networks/create', (request) => {
      const ipam = request.body?.IPAM?.Config?.[0] ?? {};
      const made = networks.create(request.body?.Name ?? '', ipam.Subnet,
        ipam.Gateway, request.body?.Labels ?? {});
      engine.events.emit('network', 'create', made.Id,
        { name: made.Name, type: made.Driver });
      request.res.statusCode = 201;
      return { Id: made.Id, Warning: '' };
    }),
    route('DELETE', `/networks/${ID}`, (request) => {
      const gone = networks.inspect(param(request));
      networks.remove(gone.Id);
      engine.events.emit('network', 'destroy', gone.Id,
        { name: gone.Name, type: gone.Driver });
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
    route('POST', '/networks/prune', () => {
      const before = networks.list();
      const gone = networks.prune();
      for (const n of before.filter((x) => gone.includes(x.Name))) {
        engine.events.emit('network', 'destroy', n.Id,
          { name: n.Name, type: n.Driver });
      }
      return { NetworksDeleted: gone };
    }),
  ].map(translated);
}

