/**
 * The Node settings `smartregistry serve` runs with: flags for V8 and an environment for the C library.
 * They are process-wide and only take effect when Node starts (`v8.setFlagsFromString` afterwards leaves
 * the heap as it was configured, malloc reads its environment once), so they cannot be set by the
 * library, and Node refuses the flags in NODE_OPTIONS: the bin's shebang line (`cli.js`, through
 * `env -S`) and `npm start` pass them, the bench servers get them too, and `serve` says so when they are
 * missing. A program embedding the library chooses its own.
 *
 * A registry's live heap is small (tens of MiB; payloads are streamed), so most of a default process's
 * RSS was heap reserved for garbage not yet collected. `--max-semi-space-size=1` keeps the young
 * generation at 1 MiB per semi-space instead of 16; `--heap-growing-percent=15` grows the old one by
 * 15 % at a time instead of V8's dynamic factor (up to 4x on a small heap). Together they keep the
 * memory `--optimize-for-size` kept (OCI moving 1 GiB blobs: 131 -> 117-119 MiB) without its price in
 * compiled-code speed (its push and pull ran about a tenth slower, its requests cost more CPU).
 * `--expose-gc` lets the registry collect the young generation every few MiB it streams
 * (core/helpers.streamedbytes.ts), which frees the dead read buffers a download or upload leaves behind.
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--heap-growing-percent=15', '--expose-gc'];

/**
 * glibc's malloc reads this when the process starts (other C libraries ignore it). By default a freed
 * buffer of 128 KiB or more raises the size below which buffers come from malloc's heap instead of their
 * own mappings (up to 32 MiB); a registry moving a blob or a tarball frees such buffers all the time (socket
 * and file reads, S3 parts), so they ended up in the heap and the freed ones were kept there instead of going
 * back to the system. Pinning the threshold at its default start value keeps every buffer of 128 KiB or more
 * in a mapping of its own, returned when freed. The whole npm bench in one process on the filesystem: peak
 * 166 -> 141 MiB, 146 -> 112 MiB after the searches; OCI moving 1 GiB on s3rver 146 -> 135 MiB.
 * (`MALLOC_ARENA_MAX=2` was measured too: 156 and 120 alone, nothing more with this: not set.)
 */
export const SERVE_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/** `NAME=value` of the entries of `SERVE_ENV` this process was started without (they only count at start). */
export function missingServeEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(SERVE_ENV)
    .filter(([name, value]) => env[name] !== value)
    .map(([name, value]) => `${name}=${value}`);
}

/** The flags of `SERVE_NODE_FLAGS` this process was started without (Node refuses them in NODE_OPTIONS). */
export function missingServeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.map((flag) => flag.replace(/_/g, '-')));
  return SERVE_NODE_FLAGS.filter((flag) => !given.has(flag));
}
