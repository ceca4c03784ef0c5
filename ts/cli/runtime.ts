/**
 * The Node settings `smartregistry serve` runs with. They are process-wide and only take effect when
 * Node starts (`v8.setFlagsFromString` afterwards leaves the heap as it was configured), so they
 * cannot be set by the library, and Node refuses them in NODE_OPTIONS: the bin's shebang line
 * (`cli.js`) and `npm start` pass them, the bench servers get them too, and `serve` says so when they
 * are missing. A program embedding the library chooses its own.
 *
 * A registry's live heap is small (tens of MiB; payloads are streamed), so most of a default process's
 * RSS was heap reserved for garbage not yet collected. `--max-semi-space-size=1` keeps the young
 * generation at 1 MiB per semi-space instead of 16; `--heap-growing-percent=15` grows the old one by
 * 15 % at a time instead of V8's dynamic factor (up to 4x on a small heap). Together they keep the
 * memory `--optimize-for-size` kept (OCI moving 1 GiB blobs: 131 -> 117-119 MiB) without its price in
 * compiled-code speed (its push and pull ran about a tenth slower, its requests cost more CPU).
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--heap-growing-percent=15'];

/** The flags of `SERVE_NODE_FLAGS` this process was started without (Node refuses them in NODE_OPTIONS). */
export function missingServeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.map((flag) => flag.replace(/_/g, '-')));
  return SERVE_NODE_FLAGS.filter((flag) => !given.has(flag));
}
