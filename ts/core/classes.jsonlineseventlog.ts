import * as fs from 'node:fs';
import type { Logger } from './classes.logger.js';
import type { IEventSink } from './classes.registryevents.js';
import type { IRegistryEvent } from './interfaces.operations.js';

/** Appends each event as one JSON line to a file (opened for appending, so several runs share it). */
export class JsonLinesEventLog implements IEventSink {
  private readonly stream: fs.WriteStream;
  private failed = false;

  constructor(path: string, private readonly logger: Logger) {
    this.stream = fs.createWriteStream(path, { flags: 'a' });
    this.stream.on('error', (error) => {
      // Logged once; the stream stops writing after an error.
      if (!this.failed) this.logger.error(`the event log ${path} cannot be written; events are no longer logged there`, error);
      this.failed = true;
    });
  }

  deliver(event: IRegistryEvent): void {
    if (!this.failed) this.stream.write(`${JSON.stringify(event)}\n`);
  }

  destroy(): Promise<void> {
    return new Promise((resolve) => {
      if (this.failed || this.stream.destroyed) return resolve();
      this.stream.end(() => resolve());
    });
  }
}
