/**
 * Errors written out for operators: the whole `cause` chain (and the members of an AggregateError),
 * each with its stack and the codes its source attached — Node's system-error fields, our
 * RegistryError's kind and status, the AWS SDK's error `Code` and `$metadata` (HTTP status, request
 * ids) — as one text, because most log destinations (the console first) show only the text.
 */

/** Node system errors (fs, net) and RegistryError. */
const OWN_FIELDS = ['kind', 'status', 'code', 'errno', 'syscall', 'path', 'dest', 'address', 'port', 'Code', '$fault'] as const;
/** The AWS SDK v3 puts the HTTP status and the ids S3 support asks for here. */
const SDK_METADATA_FIELDS = ['httpStatusCode', 'requestId', 'extendedRequestId', 'cfId', 'attempts'] as const;
/** Deeper chains are cut (and cycles never followed). */
const MAX_DEPTH = 8;

export interface ISerializedError {
  name: string;
  message: string;
  stack?: string;
  /** The fields listed in OWN_FIELDS and SDK_METADATA_FIELDS that the error has. */
  fields: Record<string, string | number | boolean>;
  cause?: ISerializedError;
  /** AggregateError's members. */
  errors?: ISerializedError[];
}

const isPrimitive = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

function fieldsOf(error: Record<string, unknown>): Record<string, string | number | boolean> {
  const fields: Record<string, string | number | boolean> = {};
  for (const name of OWN_FIELDS) {
    if (isPrimitive(error[name])) fields[name] = error[name];
  }
  const metadata = error.$metadata;
  if (typeof metadata === 'object' && metadata !== null) {
    for (const name of SDK_METADATA_FIELDS) {
      const value = (metadata as Record<string, unknown>)[name];
      if (isPrimitive(value)) fields[name] = value;
    }
  }
  return fields;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A thrown value as plain data (for destinations that keep structure), its cause chain included. */
export function serializeError(thrown: unknown, seen = new Set<unknown>(), depth = 0): ISerializedError {
  if (!(thrown instanceof Error)) return { name: typeof thrown, message: describeValue(thrown), fields: {} };
  seen.add(thrown);
  const record = thrown as unknown as Record<string, unknown>;
  const serialized: ISerializedError = { name: thrown.name, message: thrown.message, stack: thrown.stack, fields: fieldsOf(record) };
  const follow = (next: unknown) => (depth < MAX_DEPTH && !seen.has(next) ? serializeError(next, seen, depth + 1) : undefined);
  if (thrown.cause !== undefined) serialized.cause = follow(thrown.cause);
  if (thrown instanceof AggregateError && Array.isArray(thrown.errors)) {
    serialized.errors = thrown.errors.map(follow).filter((member): member is ISerializedError => member !== undefined);
  }
  return serialized;
}

const indent = (text: string, by: string) => text.replace(/\n/g, `\n${by}`);

function render(error: ISerializedError, depth: number): string[] {
  const pad = '  '.repeat(depth);
  const fields = Object.entries(error.fields).map(([name, value]) => `${name}=${value}`);
  const head = `${error.name}: ${error.message}${fields.length > 0 ? ` [${fields.join(' ')}]` : ''}`;
  // The stack's first line repeats name and message.
  const frames = error.stack?.split('\n').filter((line) => /^\s+at /.test(line)) ?? [];
  const lines = [`${pad}${indent(head, pad)}`, ...frames.map((frame) => `${pad}  ${frame.trim()}`)];
  if (error.cause) lines.push(`${pad}caused by: ${render(error.cause, depth).join('\n').trimStart()}`);
  error.errors?.forEach((member, index) => {
    lines.push(`${pad}  error ${index + 1} of ${error.errors!.length}: ${render(member, depth + 1).join('\n').trimStart()}`);
  });
  return lines;
}

/** The whole chain as text: `Name: message [code=… requestId=…]`, its stack, then `caused by: …` for each cause. */
export function describeError(thrown: unknown): string {
  return render(serializeError(thrown), 0).join('\n');
}
