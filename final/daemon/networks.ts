// The engine's networks: chapter 05's bridges, subnets and address pools
// under the engine's network configuration, in the Docker Engine API's
// JSON (GET /networks). The runtime's network step and these calls share
// one NetConfig, so `run --network NAME` finds what `network create`
// made, and chapter 05's isolation rules keep networks apart.
import {
  createNetwork, inspectNetwork, listNetworks, NetworkError,
  removeNetwork, type NetConfig, type NetworkInfo,
} from '../../chapters/05-network/networks.ts';
import { macFor } from '../../chapters/05-network/step.ts';
import { BadRequest, Conflict, NotFound } from './errors.ts';

/** One network as docker network inspect shows it. */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv6: false;
  IPAM: { Driver: 'default'; Options: Record<string, string>;
    Config: { Subnet: string; Gateway: string }[] };
  Internal: false;
  Attachable: false;
  Ingress: false;
  Containers: Record<string, { Name: string; EndpointID: string;
    MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

// #region networks (unused)
// #region network-create
export class Networks {
  constructor(readonly config: NetConfig,
    /** A container's name from its id, for `Containers`. */
    private readonly nameOf: (id: string) => string | undefined =
    () => undefined) {}

  list(): NetworkResource[] {
    return wrap(() => listNetworks(this.config)).map((n) => this.shape(n));
  }

  /** By name, full id or id prefix. */
  inspect(ref: string): NetworkResource {
    return this.shape(wrap(() => inspectNetwork(ref, this.config)));
  }

  create(name: string, subnet?: string, gateway?: string,
    labels: Record<string, string> = {}): NetworkResource {
    if (!name) throw new BadRequest('network create: a name is required');
    const n = wrap(() => createNetwork(name, { subnet, gateway, labels },
      this.config));
    return this.shape(n);
  }

  remove(ref: string): void {
    const n = this.inspect(ref);
    wrap(() => removeNetwork(n.Name, this.config));
  }
// #endregion

  /**
   * Removes the networks given (api/network-filters.ts picks unused
   * ones); returns the names of those it removed.
   */
  prune(unused: NetworkResource[]): string[] {
    const gone: string[] = [];
    for (const n of unused) {
      try {
        this.remove(n.Name);
        gone.push(n.Name);
      } catch { /* in use after all: keep it */ }
    }
    return gone;
  }

  private shape(n: NetworkInfo): NetworkResource {
    const bits = n.subnet?.split('/')[1] ?? '';
    return {
      Name: n.name, Id: n.id, Created: n.created ?? new Date(0)
        .toISOString(), Scope: 'local', Driver: n.driver,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: n.subnet
        ? [{ Subnet: n.subnet, Gateway: n.gateway ?? '' }] : [] },
      Internal: false, Attachable: false, Ingress: false,
      Containers: Object.fromEntries(n.containers.map((c) => [c.id, {
        Name: this.nameOf(c.id) ?? c.hostname, EndpointID: c.veth,
        MacAddress: macFor(c.ip), IPv4Address: `${c.ip}/${bits}`,
        IPv6Address: '',
      }])),
      // dockerd names the bridge in Options for its default network
      // only; a user network's Options are the create's driver options,
      // which docker-compose compares with its file ("needs to be
      // recreated" when they differ).
      Options: n.bridge && n.name === 'bridge'
        ? { 'com.docker.network.bridge.name': n.bridge } : {},
      Labels: n.labels ?? {},
    };
  }
}
// #endregion

/** Chapter 05's errors as the API's: 404, 409 or 400. */
function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    const m = err.message;
    if (/not found/.test(m)) throw new NotFound(m, { cause: err });
    if (/already exists|active endpoints|pre-defined/.test(m)) {
      throw new Conflict(m, { cause: err });
    }
    throw new BadRequest(m, { cause: err });
  }
}
