// `npm start`: build if sources changed, then run the service (isolated-vm needs --no-node-snapshot).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await import('./build-if-stale.mjs');
const child = spawn(
  process.execPath,
  [
    '--no-node-snapshot',
    '--enable-source-maps',
    join(root, 'dist', 'src', 'main.js'),
    ...process.argv.slice(2),
  ],
  {
    stdio: 'inherit',
    cwd: root,
  },
);
// Forward signals so the service drains and stops its database cleanly.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
