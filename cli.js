#!/usr/bin/env node
// The package bin: run the compiled CLI (built by `npm run build`, which `prepare` runs on install).
import './dist_ts/cli/index.js';
