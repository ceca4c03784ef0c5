/** Counts Web streams built while `action` runs (every `new ReadableStream` goes through the global). */
export async function countWebStreams(action: () => Promise<void> | void): Promise<number> {
  const Original = globalThis.ReadableStream;
  let built = 0;
  class Counting<R> extends Original<R> {
    constructor(...args: ConstructorParameters<typeof ReadableStream<R>>) {
      super(...args);
      built++;
    }
  }
  globalThis.ReadableStream = Counting as typeof ReadableStream;
  try {
    await action();
  } finally {
    globalThis.ReadableStream = Original;
  }
  return built;
}
