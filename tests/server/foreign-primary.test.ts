// `tyokyky serve` as a worker of a cluster primary that is not ours (pm2's cluster mode, an
// application's own): no pool of ours, so no worker number and no rate-limit counts kept in a primary
// that would never answer (every request would wait for it and fail); the facade serves alone.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, facadeUrl } from '../helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-foreign-primary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PRIMARY = `
const cluster = require('node:cluster');
cluster.setupPrimary({
  exec: 'bin/tyokyky.js',
  args: ['serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', ${JSON.stringify(join(dir, 'data'))}],
});
cluster.fork();
process.on('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM'); });
`;

describe('serve in a worker of a foreign cluster primary', () => {
  it('answers from the one facade, as a process of its own would', async () => {
    // A file, not `node -e`: a worker is forked with the primary's execArgv, which would hold the `-e`.
    const script = join(dir, 'primary.cjs');
    writeFileSync(script, PRIMARY);
    const primary = spawn(process.execPath, [script], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    try {
      const url = await facadeUrl(primary, (chunk) => {
        logs += chunk;
      });
      // Counted here, in this process (a store in a primary that never answers counts nothing).
      for (const remaining of [5999, 5998]) {
        const res = await fetch(`${url}/Practitioner`);
        expect(res.status).toBe(200);
        expect(res.headers.get('ratelimit')).toMatch(
          new RegExp(`^limit=6000, remaining=${remaining}, reset=\\d+$`),
        );
      }
      // The facade is no numbered worker of a pool.
      const listening = logs.split('\n').find((l) => l.includes('facade listening'));
      expect(JSON.parse(listening ?? '{}').worker).toBeUndefined();
    } finally {
      primary.kill('SIGTERM');
      await new Promise((r) => primary.once('exit', r));
    }
  }, 150_000);
});
