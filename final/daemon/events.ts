// The daemon's event bus: every object that changes says so here, and
// GET /events (docker events) reads it. dockerd keeps a bounded history
// in memory (moby's events.Events, 256 messages) so that `--since` can
// replay the recent past; so do we.
import { EventEmitter } from 'node:events';

export type EventType =
  'container' | 'image' | 'network' | 'volume' | 'daemon' | 'builder';

/** One message, in the Engine API's shape (GET /events). */
export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // The old fields docker still sends for containers and images.
  status?: string;
  id?: string;
  from?: string;
}

const HISTORY = 256;

// #region event-bus
export class Events {
  private readonly bus = new EventEmitter();
  private readonly history: EngineEvent[] = [];

  constructor() { this.bus.setMaxListeners(0); }

  emit(type: EventType, action: string, id: string,
    attributes: Record<string, string> = {}): EngineEvent {
    const nano = Date.now() * 1e6;
    const event: EngineEvent = {
      ...legacy(type, action, id, attributes),
      Type: type, Action: action,
      Actor: { ID: id, Attributes: sorted(attributes) },
      scope: 'local', time: Math.floor(nano / 1e9), timeNano: nano,
    };
    this.history.push(event);
    if (this.history.length > HISTORY) this.history.shift();
    this.bus.emit('event', event);
    return event;
  }

  /** The remembered past, oldest first. */
  past(): EngineEvent[] { return [...this.history]; }

  /** Calls `listener` for each new event until the returned function. */
  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.bus.on('event', listener);
    return () => this.bus.off('event', listener);
  }

  /** How many listen now: docker info's NEventsListener. */
  listeners(): number { return this.bus.listenerCount('event'); }
}
// #endregion

/** The fields docker still sends for containers and images, first. */
function legacy(type: EventType, action: string, id: string,
  attributes: Record<string, string>): Partial<EngineEvent> {
  if (type === 'container') {
    return { status: action, id, from: attributes.image };
  }
  return type === 'image' ? { status: action, id } : {};
}

/** Go's encoding/json writes a map's keys sorted; so do we. */
function sorted(attributes: Record<string, string>)
  : Record<string, string> {
  return Object.fromEntries(Object.entries(attributes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
