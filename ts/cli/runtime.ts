/**
 * The Node settings `smartregistry serve` runs with. They are process-wide and only take effect when
 * Node starts (`v8.setFlagsFromString` afterwards leaves the heap as it was configured), so they
 * cannot be set by the library, and Node refuses them in NODE_OPTIONS: the bin's shebang line
 * (`cli.js`) and `npm start` pass them, the bench servers get them too, and `serve` says so when they
 * are missing. A program embedding the library chooses its own.
 *
 * `--optimize-for-size`: V8 keeps a young generation of 1 MiB per semi-space instead of 16 and grows
 * the old generation in smaller steps. A registry's live heap is small (tens of MiB; payloads are
 * streamed), so most of a default process's RSS was heap reserved for garbage not yet collected
 * (50,000 search entries: 140 -> 103 MiB, searches as fast).
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--optimize-for-size'];

/** The flags of `SERVE_NODE_FLAGS` this process was started without (Node refuses them in NODE_OPTIONS). */
export function missingServeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.map((flag) => flag.replace(/_/g, '-')));
  return SERVE_NODE_FLAGS.filter((flag) => !given.has(flag));
}
