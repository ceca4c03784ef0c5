#!/usr/bin/env -S node --optimize-for-size
// The package bin: run the compiled CLI (built by `npm run build`, which `prepare` runs on install).
import './dist_ts/cli/index.js';
