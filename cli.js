#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1 --heap-growing-percent=15 --expose-gc
// The package bin: run the compiled CLI (built by `npm run build`, which `prepare` runs on install).
import './dist_ts/cli/index.js';
