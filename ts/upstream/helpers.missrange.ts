import { Transform, pipeline, type Readable } from 'node:stream';
import { parseRangeHeader, type IByteSpan, type IServeRequest } from '../core/helpers.serve.js';

/**
 * How a cache miss is answered while its fetch runs: `whole` (a plain GET), `span` (a GET with one
 * satisfiable Range, the upstream's length known), `unsatisfiable` (416 at once), or `stored`: wait for the
 * stored copy and answer from it as a hit is answered (HEAD, conditional requests, If-Range, an unknown
 * length). Ranges are read as the stored copy's would be (helpers.serve.ts), so a hit and a miss agree.
 */
export type TMissAnswer = { kind: 'whole' } | { kind: 'span'; span: IByteSpan } | { kind: 'unsatisfiable' } | { kind: 'stored' };

export function missAnswer(request: IServeRequest, size: number | undefined): TMissAnswer {
  const { headers } = request;
  if (request.method !== 'GET' || headers['if-none-match'] || headers['if-modified-since']) return { kind: 'stored' };
  if (!headers.range) return { kind: 'whole' };
  if (size === undefined || headers['if-range']) return { kind: 'stored' };
  const range = parseRangeHeader(headers.range, size);
  if (range.kind === 'unsatisfiable') return { kind: 'unsatisfiable' };
  if (range.kind === 'none' || (range.start === 0 && range.end === size - 1)) return { kind: 'whole' };
  return { kind: 'span', span: { start: range.start, end: range.end } };
}

/**
 * Bytes `span.start..span.end` of `source`, which is read to its end all the same (the tee it comes from
 * must keep flowing for the cache to fill). The last piece is held until `source` ends: a tee's client
 * branch ends only once the stored copy passed its digest check, so a range is never complete before the
 * bytes are verified, as a whole body is not. An error of `source` cuts the range short.
 */
export function sliceOf(source: Readable, span: IByteSpan): Readable {
  let offset = 0;
  let held: Buffer | undefined;
  const slice = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const from = Math.max(span.start - offset, 0);
      const to = Math.min(span.end + 1 - offset, chunk.length);
      offset += chunk.length;
      if (from < to) {
        if (held) this.push(held);
        held = chunk.subarray(from, to);
      }
      callback();
    },
    flush(callback) {
      if (held) this.push(held);
      callback();
    },
  });
  pipeline(source, slice, () => undefined);
  return slice;
}
