#!/usr/bin/env node
// The newspush command (package.json "bin"): runs with plain node. In a checkout it runs the TypeScript sources
// through tsx (a dev dependency), so it is never older than them; in a built image (no src/) it runs dist/.
import { existsSync, readFileSync } from 'node:fs';

const source = new URL('../src/cli/newspush.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import(new URL('../dist/cli/newspush.js', import.meta.url).href);
}

// `newspush follow world | head -3`: a reader that has seen enough is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
process.exitCode = await cli.runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  signal: stop.signal,
  readFile: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
});
