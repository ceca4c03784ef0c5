/**
 * Ruby's Marshal format 4.8, the subset RubyGems' index files use (specs.4.8.gz and the quick
 * gemspecs): nil, booleans, integers, UTF-8 strings, symbols (repeats linked), arrays, hashes,
 * plain objects and objects that define `marshal_dump` or `_dump`. Pure: values in, bytes out.
 * Every value is written as its own object (no object links), as Ruby does for distinct objects.
 */

/** A Ruby symbol, `:runtime`. */
export class RubySymbol {
  constructor(readonly name: string) {}
}

/** An object written field by field (`o`): `Gem::Dependency`. Instance variable names without `@`. */
export class RubyObject {
  constructor(
    readonly className: string,
    readonly ivars: ReadonlyArray<readonly [string, TRubyValue]>,
  ) {}
}

/** An object whose class defines `marshal_dump` (`U`): `Gem::Version`, `Gem::Requirement`. */
export class RubyUserMarshal {
  constructor(
    readonly className: string,
    readonly data: TRubyValue,
  ) {}
}

/** An object whose class defines `_dump` returning a binary string (`u`): `Gem::Specification`. */
export class RubyUserDump {
  constructor(
    readonly className: string,
    readonly bytes: Uint8Array,
  ) {}
}

export type TRubyValue =
  | null
  | boolean
  | number
  | string
  | RubySymbol
  | RubyObject
  | RubyUserMarshal
  | RubyUserDump
  | TRubyValue[]
  | Map<TRubyValue, TRubyValue>;

/** `Marshal.dump(value)`. */
export function marshalDump(value: TRubyValue): Buffer {
  const writer = new MarshalWriter();
  writer.raw(4, 8);
  writer.value(value);
  return writer.finish();
}

class MarshalWriter {
  private readonly chunks: Buffer[] = [];
  private readonly symbols = new Map<string, number>();

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }

  raw(...bytes: number[]) {
    this.chunks.push(Buffer.from(bytes));
  }

  value(value: TRubyValue): void {
    if (value === null) return this.raw(0x30); // 0
    if (value === true) return this.raw(0x54); // T
    if (value === false) return this.raw(0x46); // F
    if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < -(2 ** 30) || value >= 2 ** 30) throw new RangeError(`cannot marshal number ${value}`);
      this.raw(0x69); // i
      return this.integer(value);
    }
    if (typeof value === 'string') return this.string(value);
    if (value instanceof RubySymbol) return this.symbol(value.name);
    if (Array.isArray(value)) {
      this.raw(0x5b); // [
      this.integer(value.length);
      for (const item of value) this.value(item);
      return;
    }
    if (value instanceof Map) {
      this.raw(0x7b); // {
      this.integer(value.size);
      for (const [key, item] of value) {
        this.value(key);
        this.value(item);
      }
      return;
    }
    if (value instanceof RubyObject) {
      this.raw(0x6f); // o
      this.symbol(value.className);
      this.integer(value.ivars.length);
      for (const [name, item] of value.ivars) {
        this.symbol(`@${name}`);
        this.value(item);
      }
      return;
    }
    if (value instanceof RubyUserMarshal) {
      this.raw(0x55); // U
      this.symbol(value.className);
      return this.value(value.data);
    }
    this.raw(0x75); // u
    this.symbol(value.className);
    this.bytes(value.bytes);
  }

  /** A UTF-8 string: the bytes, then its one instance variable `E => true` (the encoding). */
  private string(value: string) {
    this.raw(0x49, 0x22); // I"
    this.bytes(Buffer.from(value, 'utf8'));
    this.integer(1);
    this.symbol('E');
    this.raw(0x54);
  }

  private symbol(name: string) {
    const index = this.symbols.get(name);
    if (index !== undefined) {
      this.raw(0x3b); // ; a link to a symbol written before
      return this.integer(index);
    }
    this.symbols.set(name, this.symbols.size);
    this.raw(0x3a); // :
    this.bytes(Buffer.from(name, 'utf8'));
  }

  private bytes(bytes: Uint8Array) {
    this.integer(bytes.length);
    this.chunks.push(Buffer.from(bytes));
  }

  /** Marshal's variable-length integer. */
  private integer(value: number) {
    if (value === 0) return this.raw(0);
    if (value > 0 && value < 123) return this.raw(value + 5);
    if (value < 0 && value > -124) return this.raw((value - 5) & 0xff);
    const out: number[] = [];
    let rest = value;
    for (let i = 0; i < 4; i++) {
      out.push(rest & 0xff);
      rest >>= 8;
      if ((value >= 0 && rest === 0) || (value < 0 && rest === -1)) break;
    }
    this.raw(value >= 0 ? out.length : (256 - out.length) & 0xff, ...out);
  }
}
