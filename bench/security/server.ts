// One facade per process for the security benchmark:
//   tsx bench/security/server.ts plain|secured <pglite|postgres>
// `plain` is the facade with no security layer at all (createApp alone); `secured` is `startServer`
// with the embedded authorization server, bearer tokens verified on every request, scopes checked
// and every access audited. Prints `READY <origin> <access token>` when listening.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import pino from 'pino';
import { createApp, startServer } from '../../src/server/index.ts';
import type { FacadeStore, FacadeValidator } from '../../src/server/ports.ts';
import { SECURITY_MIGRATION, SECURITY_STATEMENTS, addClient } from '../../src/server/security/index.ts';
import { openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { seedObservations } from '../facade/seed.ts';

const [kind, engine = 'pglite'] = process.argv.slice(2);
const resources = Number(process.env.SECURITY_BENCH_RESOURCES ?? 20_000);
const logger = pino({ level: 'silent' });
const store =
  engine === 'postgres'
    ? await openStore({ databaseUrl: process.env.SECURITY_BENCH_PG_URL as string, poolMax: 20 })
    : await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'tyokyky-bench-security-')) });
await seedObservations(store, resources);
const validator = (await loadProjectValidator()) as unknown as FacadeValidator;

let line: string;
if (kind === 'plain') {
  const app = createApp({ store: store as unknown as FacadeStore, validator, logger });
  const origin = await new Promise<string>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`),
    );
  });
  line = `${origin} -`;
} else {
  await store.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
  const { privateKey, publicKey } = await generateKeyPair('ES384');
  const kid = randomUUID();
  await addClient(store, {
    id: 'bench',
    scope: 'system/Observation.crus',
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384' }] },
  });
  const running = await startServer({
    store,
    validator,
    logger,
    auth: { mode: 'embedded' },
    port: 0,
    rateLimit: 10_000_000,
  });
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES384', kid })
    .setIssuer('bench')
    .setSubject('bench')
    .setAudience(`${running.url}/auth/token`)
    .setJti(randomUUID())
    .setExpirationTime('4m')
    .sign(privateKey);
  const res = await fetch(`${running.url}/auth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
  const token = ((await res.json()) as { access_token: string }).access_token;
  line = `${running.url} ${token}`;
}
process.stdout.write(`READY ${line}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
