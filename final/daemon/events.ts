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

// #region event-bus (unused)
export class Events {
  private readonly bus = new EventEmitter();
  private readonly history: EngineEvent[] = [];

  constructor() { this.bus.setMaxListeners(0); }

  emit(type: EventType, action: string, id: string,
    attributes: Record<string, string> = {}): EngineEvent {
    const nano = BigInt(Date.now()) * 1_000_000n;
    const event: EngineEvent = {
      Type: type, Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nano / 1_000_000_000n), timeNano: Number(nano),
    };
    if (type === 'container' || type === 'image') {
      event.status = action; event.id = id;
      if (attributes.image) event.from = attributes.image;
    }
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
}
// #endregion
