import { RegistryError } from './classes.registryerror.js';

const BASE64_BODY = /^[A-Za-z0-9+/]*$/;
const BASE64_LAST = /^[A-Za-z0-9+/]{2}(?:==|[A-Za-z0-9+/]=|[A-Za-z0-9+/]{2})$/;

/**
 * Canonical base64 decoded piece by piece, as it arrives: strict (only the base64 alphabet, padding
 * only at the end, no stray padding bits) without ever holding the whole text.
 */
export class StreamingBase64Decoder {
  /** Characters of an incomplete quartet, plus the last complete quartet (it may be padded). */
  private pending = '';
  private ended = false;

  constructor(private readonly label: string) {}

  /** Bytes decoded from `text` and what came before it (the last quartet waits for `end`). */
  write(text: string): Buffer {
    const available = this.pending + text;
    // Keep the last complete quartet back: only `end` knows whether padding there is allowed.
    const keep = available.length % 4 === 0 ? Math.min(4, available.length) : available.length % 4;
    const ready = available.slice(0, available.length - keep);
    this.pending = available.slice(available.length - keep);
    if (!BASE64_BODY.test(ready)) throw this.invalid();
    return Buffer.from(ready, 'base64');
  }

  /** The last bytes; throws when the text was not canonical base64. */
  end(): Buffer {
    if (this.ended) return Buffer.alloc(0);
    this.ended = true;
    const last = this.pending;
    this.pending = '';
    if (last === '') return Buffer.alloc(0);
    if (!BASE64_LAST.test(last)) throw this.invalid();
    const bytes = Buffer.from(last, 'base64');
    // Padding bits that are not zero would decode silently; a round trip catches them.
    if (bytes.toString('base64') !== last) throw this.invalid();
    return bytes;
  }

  private invalid() {
    return RegistryError.invalid(`${this.label}: data is not valid base64`);
  }
}
