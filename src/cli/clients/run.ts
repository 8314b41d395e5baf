// The work behind `tyokyky clients …` (registered in ../commands/clients.ts, loaded only when it runs).
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { jsonSyntaxMessage } from '../../shared/json-error.ts';
import type { Store } from '../../store/index.ts';
import { printReindexProgress } from '../reindex-progress.ts';
import { missingStore } from '../store-dir.ts';

export interface StoreOptions {
  databaseUrl?: string;
  dataDir: string;
}

export interface AddOptions extends StoreOptions {
  scope: string;
  party?: string;
  jwksFile?: string;
  jwksUrl?: string;
}

/** Exit 2: the command line or a file it names is wrong; 1: the operation itself failed. */
function fail(message: string, code: 1 | 2 = 2): never {
  console.error(`tyokyky clients: ${message}`);
  process.exit(code);
}

/** A JSON file named on the command line; a bad one fails with its name and what is wrong, never its text. */
function readJson<T>(file: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    fail(`${file} is not JSON: ${jsonSyntaxMessage(err)}`);
  }
}

/**
 * Opens the store with the security tables in place, runs `fn`, closes it. Only `add` may make the
 * store (registering the first client is a new deployment's first step); the others refuse a data
 * directory without one.
 */
async function withSecurityStore<T>(
  opts: StoreOptions,
  fn: (db: Store) => Promise<T>,
  store: 'existing' | 'made if missing' = 'existing',
): Promise<T> {
  const missing = store === 'existing' ? missingStore(opts) : undefined;
  if (missing) fail(missing);
  const { openStore } = await import('../../store/index.ts');
  const { SECURITY_MIGRATION, SECURITY_STATEMENTS } = await import('../../server/index.ts');
  const db = await openStore({
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { dataDir: opts.dataDir }),
    onReindex: printReindexProgress,
  });
  try {
    await db.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
    return await fn(db);
  } finally {
    await db.close();
  }
}

export async function addClientAction(id: string, opts: AddOptions): Promise<void> {
  const { addClient, checkClient } = await import('../../server/index.ts');
  const jwks = opts.jwksFile ? readJson<{ keys: JWK[] }>(opts.jwksFile) : undefined;
  const client = {
    id,
    scope: opts.scope,
    ...(opts.party ? { party: opts.party } : {}),
    ...(jwks ? { jwks } : {}),
    ...(opts.jwksUrl ? { jwksUrl: opts.jwksUrl } : {}),
  };
  // Before the store is opened: a refused registration must not leave a new store behind.
  try {
    checkClient(client);
  } catch (err) {
    fail((err as Error).message);
  }
  await withSecurityStore(opts, (db) => addClient(db, client), 'made if missing').catch((err: Error) =>
    fail(err.message),
  );
  console.log(`client ${id} registered`);
}

export async function listClientsAction(opts: StoreOptions): Promise<void> {
  const { listClients } = await import('../../server/index.ts');
  const registered = await withSecurityStore(opts, (db) => listClients(db));
  // On stderr: what lists the clients (stdout, one per line) reads nothing.
  if (!registered.length)
    console.error(
      'no clients registered; add one with: tyokyky clients add <id> --scope <scopes> --jwks-file <file> (or --jwks-url <url>)',
    );
  for (const c of registered) {
    const keys = c.jwksUrl ?? `${c.jwks?.keys.length ?? 0} key(s)`;
    console.log(`${c.id}\t${c.party ?? '-'}\t${c.scope}\t${keys}`);
  }
}

export async function removeClientAction(id: string, opts: StoreOptions): Promise<void> {
  const { removeClient } = await import('../../server/index.ts');
  // The command line was fine; there is no such client: a failure, as `sync retry <id>` is.
  if (!(await withSecurityStore(opts, (db) => removeClient(db, id)))) fail(`no client ${id}`, 1);
  console.log(`client ${id} removed`);
}

export async function keygenAction(opts: { out: string }): Promise<void> {
  const { exportJWK, generateKeyPair } = await import('jose');
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = randomUUID();
  const priv = { ...(await exportJWK(privateKey)), kid, alg: 'ES384' };
  const pub = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  writeFile(`${opts.out}.private.jwk.json`, `${JSON.stringify(priv, null, 2)}\n`, 0o600);
  writeFile(`${opts.out}.jwks.json`, `${JSON.stringify({ keys: [pub] }, null, 2)}\n`);
  console.log(`wrote ${opts.out}.private.jwk.json and ${opts.out}.jwks.json`);
}

/** A file keygen writes; one that cannot be written (no such folder, no permission) fails naming it. */
function writeFile(file: string, text: string, mode?: number): void {
  try {
    writeFileSync(file, text, mode === undefined ? undefined : { mode });
  } catch (err) {
    fail(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * `--key`: the private JWK keygen wrote. The public JWKS beside it (or one public key) given by mistake
 * is exit 2 saying so, before signing; never a word of the key's content.
 */
function readPrivateJwk(file: string): JWK {
  const jwk = readJson<JWK & { keys?: unknown }>(file);
  const next = 'pass the .private.jwk.json file keygen wrote';
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk))
    fail(`${file} is not a private JWK (not a JSON object); ${next}`);
  if ('keys' in jwk) fail(`${file} is not a private JWK (a JWKS, the public keys, was given); ${next}`);
  if (typeof jwk.d !== 'string') fail(`${file} is not a private JWK (it holds no private key); ${next}`);
  return jwk;
}

/** A client assertion signed with the key in `file`; a key jose cannot use is exit 2 naming the file. */
async function assertionWith(id: string, tokenUrl: string, file: string): Promise<string> {
  const { clientAssertion } = await import('../../sync/index.ts');
  const key = readPrivateJwk(file);
  try {
    return await clientAssertion(id, tokenUrl, key);
  } catch (err) {
    // jose's messages name the parameter at fault ("kty", "crv"), never its value.
    fail(`${file} is not a usable private JWK: ${(err as Error).message}`);
  }
}

export async function assertionAction(id: string, opts: { key: string; tokenUrl: string }): Promise<void> {
  console.log(await assertionWith(id, opts.tokenUrl, opts.key));
}

export async function tokenAction(
  id: string,
  opts: { key: string; url: string; scope?: string },
): Promise<void> {
  const { checkHttpUrl } = await import('../../shared/http-url.ts');
  let tokenUrl = '';
  try {
    tokenUrl = `${checkHttpUrl(opts.url, '--url').replace(/\/+$/, '')}/auth/token`;
  } catch (err) {
    fail((err as Error).message);
  }
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertionWith(id, tokenUrl, opts.key),
  });
  if (opts.scope) form.set('scope', opts.scope);
  const res = await fetch(tokenUrl, { method: 'POST', body: form }).catch((err: Error) =>
    fail(`cannot reach ${tokenUrl}: ${(err.cause as Error | undefined)?.message ?? err.message}`, 1),
  );
  const body = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!res.ok || !body.access_token)
    fail(`token refused: ${body.error ?? res.status} ${body.error_description ?? ''}`.trim(), 1);
  console.log(body.access_token);
}
