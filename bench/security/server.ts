// One facade per process for the security benchmark:
//   tsx bench/security/server.ts plain|open|secured <pglite|postgres>
// `plain` is the facade with no security layer at all (createApp alone); `open` is `startServer` with
// auth off (security headers, rate limiter and audit rows, no token); `secured` is `startServer`
// with the embedded authorization server, bearer tokens verified on every request, scopes checked
// and every access audited. Prints `READY <origin> <access token> <pid>` when listening (and
// `TOKEN <access token>` when it has a fresh one).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import pino from 'pino';
import { createApp, startServer } from '../../src/server/index.ts';
import { SECURITY_MIGRATION, SECURITY_STATEMENTS, addClient } from '../../src/server/security/index.ts';
import { openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { seedObservations } from '../facade/seed.ts';
import { scratchDir } from '../temp-dir.ts';

const [kind, engine = 'pglite'] = process.argv.slice(2);
const resources = Number(process.env.SECURITY_BENCH_RESOURCES ?? 20_000);
const logger = pino({ level: 'silent' });
const store =
  engine === 'postgres'
    ? await openStore({ databaseUrl: process.env.SECURITY_BENCH_PG_URL as string, poolMax: 20 })
    : await openStore({ dataDir: scratchDir('tyokyky-bench-security-') });
await seedObservations(store, resources);
const validator = await loadProjectValidator();

let line: string;
if (kind === 'plain') {
  // The same HTTP server settings and link base as startServer's, without the security layer.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.keepAliveTimeout = 65_000;
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on('request', createApp({ store, validator, logger, baseUrl: `${origin}/fhir` }));
  line = `${origin} -`;
} else if (kind === 'open') {
  // startServer with auth off: the same security layer (headers, limiter, audit rows) but no token.
  await store.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
  const running = await startServer({ store, validator, logger, port: 0, rateLimit: 10_000_000 });
  line = `${running.url} -`;
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
  // Access tokens live five minutes and a full run is longer: a fresh one every two minutes, printed
  // as `TOKEN <token>`, is what the bench uses from its next measurement on.
  const fresh = async () => {
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
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const token = await fresh();
  setInterval(() => {
    void fresh().then((t) => process.stdout.write(`TOKEN ${t}\n`));
  }, 120_000).unref();
  line = `${running.url} ${token}`;
}
const stopProfile = process.env.SECURITY_BENCH_PROFILE
  ? await startProfile(process.env.SECURITY_BENCH_PROFILE, `${kind}-${engine}`)
  : async () => {};
process.stdout.write(`READY ${line} ${process.pid}\n`);
const exit = () => void stopProfile().finally(() => process.exit(0));
process.on('SIGTERM', exit);
process.on('SIGINT', exit);

/**
 * With SECURITY_BENCH_PROFILE=<dir>: a V8 CPU profile of the serving phase only (after seeding and
 * start-up), written to <dir>/<kind>-<engine>.cpuprofile when the process is stopped.
 */
async function startProfile(dir: string, name: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, (err, result) => (err ? reject(err) : resolve(result as T))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = await post<{ profile: unknown }>('Profiler.stop');
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  };
}
