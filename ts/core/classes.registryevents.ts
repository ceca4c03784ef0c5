import * as crypto from 'node:crypto';
import type { Logger } from './classes.logger.js';
import type { IRegistryEvent } from './interfaces.operations.js';

export type TEventListener = (event: IRegistryEvent) => void;

/** Somewhere events are written to besides the listeners: it must never block or throw into the caller. */
export interface IEventSink {
  deliver(event: IRegistryEvent): void;
  destroy(): Promise<void>;
}

/**
 * The audit events of one registry: every protocol and AuthManager call `emit` once per audited action;
 * listeners (`registry.on('event')`) are called synchronously, sinks (JSON-lines log, webhooks) queue it.
 * A listener or sink that fails is logged and never fails the request.
 */
export class RegistryEvents {
  private readonly listeners = new Set<TEventListener>();
  private sinks: IEventSink[] = [];

  constructor(
    private readonly logger: Logger,
    /** Also told of each event (the metrics counter). */
    private readonly observer?: (event: IRegistryEvent) => void,
  ) {}

  on(listener: TEventListener): void {
    this.listeners.add(listener);
  }

  off(listener: TEventListener): void {
    this.listeners.delete(listener);
  }

  emit(fields: Omit<IRegistryEvent, 'id' | 'time'>): IRegistryEvent {
    const event: IRegistryEvent = { id: crypto.randomUUID(), time: new Date().toISOString(), ...fields };
    this.observer?.(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error(`an event listener failed on ${event.action} ${event.id}`, error);
      }
    }
    for (const sink of this.sinks) {
      try {
        sink.deliver(event);
      } catch (error) {
        this.logger.error(`an event sink failed on ${event.action} ${event.id}`, error);
      }
    }
    return event;
  }

  /** Sinks are opened by init and closed by destroy; listeners stay. */
  attach(sinks: IEventSink[]): void {
    this.sinks.push(...sinks);
  }

  async closeSinks(): Promise<void> {
    const sinks = this.sinks;
    this.sinks = [];
    await Promise.all(sinks.map((sink) => sink.destroy().catch((error) => this.logger.error('closing an event sink failed', error))));
  }
}
