// The bare node:http "hello" server every benchmark compares with, in a process of its own
// (`startHelloServer` in helpers.load.ts forks it).
import { serveInChild } from './helpers.load.js';

await serveInChild(null);
