/**
 * Storage hooks that hold back chosen writes, to see what clients get while a write that goes on after its
 * answer (a derived document) is still under way.
 */
import type { IStorageHookContext } from '../../ts/core/interfaces.core.js';

export function holdingHooks() {
  const held: Array<{ pattern: RegExp; gate: Promise<void> }> = [];
  /** Every key put, in order. */
  const puts: string[] = [];
  return {
    puts,
    /** Puts of keys matching `pattern` wait until the returned function is called. */
    hold(pattern: RegExp): () => void {
      let release!: () => void;
      held.push({ pattern, gate: new Promise<void>((resolve) => (release = resolve)) });
      return release;
    },
    hooks: {
      async beforePut(ctx: IStorageHookContext) {
        puts.push(ctx.key);
        for (const { pattern, gate } of held) if (pattern.test(ctx.key)) await gate;
      },
    },
  };
}

/** Whether `promise` has settled once pending I/O callbacks ran (a request waiting on a held write has not). */
export async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}
