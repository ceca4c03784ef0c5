import * as crypto from 'node:crypto';
import type { IRequestContext } from './interfaces.core.js';
import type { IRequestLogEntry, TRequestLogWriter } from './interfaces.operations.js';

export type { IRequestLogEntry, TRequestLogWriter };

/** A request id a client may choose: short, and nothing that could forge a log line or a header. */
const PLAIN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const writeJsonLine: TRequestLogWriter = (entry) => void process.stdout.write(`${JSON.stringify(entry)}\n`);

/** The per-request log: an id for each request and one entry per answer. */
export class RequestLog {
  readonly write: TRequestLogWriter;

  /** `true`: JSON lines on stdout; a function receives each entry instead. */
  constructor(writer: true | TRequestLogWriter) {
    this.write = writer === true ? writeJsonLine : writer;
  }

  idFor(ctx: IRequestContext): string {
    const sent = ctx?.headers?.['x-request-id'] ?? ctx?.headers?.['X-Request-Id'];
    const value = Array.isArray(sent) ? sent[0] : sent;
    return value !== undefined && PLAIN_ID.test(value) ? value : crypto.randomUUID();
  }
}
