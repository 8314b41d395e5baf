// The work behind `tyokyky clients …` (registered in ../commands/clients.ts, loaded only when it runs).
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fchmodSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import type { JWK } from 'jose';
import { fsErrorText } from '../../shared/fs-error.ts';
import { jsonSyntaxMessage } from '../../shared/json-error.ts';
import type { Store } from '../../store/index.ts';
import { readJsonText } from '../json-input.ts';
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
    fail(`cannot read ${file}: ${fsErrorText(err)}`);
  }
  try {
    return readJsonText(text).value as T;
  } catch (err) {
    fail(`${file} is not JSON: ${jsonSyntaxMessage(err)}`);
  }
}

/**
 * Opens the store with the security tables in place, runs `fn`, closes it: every subcommand's store,
 * so a store that cannot be opened (a data directory another process holds, a database that does not
 * exist) or a failure in it is one line and exit 2 for each. Only `add` may make the store
 * (registering the first client is a new deployment's first step); the others refuse a data directory
 * without one.
 */
async function withSecurityStore<T>(
  opts: StoreOptions,
  fn: (db: Store) => Promise<T>,
  store: 'existing' | 'made if missing' = 'existing',
): Promise<T> {
  const missing = store === 'existing' ? await missingStore(opts) : undefined;
  if (missing) fail(missing);
  const { openStore } = await import('../../store/index.ts');
  const { SECURITY_MIGRATION, SECURITY_STATEMENTS } = await import('../../server/index.ts');
  try {
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
  } catch (err) {
    fail((err as Error).message);
  }
}

export async function addClientAction(id: string, opts: AddOptions): Promise<void> {
  const { addClient, checkClient } = await import('../../server/index.ts');
  const jwks = opts.jwksFile ? readJson<{ keys: JWK[] }>(opts.jwksFile) : undefined;
  const client = {
    id,
    scope: opts.scope,
    ...(opts.party ? { party: opts.party } : {}),
    ...(opts.jwksFile ? { jwks } : {}),
    ...(opts.jwksUrl ? { jwksUrl: opts.jwksUrl } : {}),
  };
  // Before the store is opened: a refused registration must not leave a new store behind.
  try {
    await checkClient(client);
  } catch (err) {
    fail((err as Error).message);
  }
  await withSecurityStore(opts, (db) => addClient(db, client), 'made if missing');
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

export interface KeygenOptions {
  out: string;
  /** Replace an existing pair (`--force`). */
  force?: boolean;
}

/**
 * Writes a new key pair, both files or neither. An existing pair is never replaced without `--force`
 * (the client registered with its public key could then get no token). Each file is first written
 * beside its place under a new name (O_EXCL, the private key 0600 from the start), then put in place:
 * without `--force` as a hard link, which refuses a name taken meanwhile; with it by rename, the old
 * file kept aside until both are in place, so a failure on the second puts the first back.
 */
export async function keygenAction(opts: KeygenOptions): Promise<void> {
  const privFile = `${opts.out}.private.jwk.json`;
  const pubFile = `${opts.out}.jwks.json`;
  if (!opts.force) for (const file of [privFile, pubFile]) if (existsSync(file)) fail(exists(file, opts));
  const { exportJWK, generateKeyPair } = await import('jose');
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = randomUUID();
  const priv = { ...(await exportJWK(privateKey)), kid, alg: 'ES384' };
  const pub = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const files: KeyFile[] = [
    { file: privFile, text: `${JSON.stringify(priv, null, 2)}\n`, secret: true },
    { file: pubFile, text: `${JSON.stringify({ keys: [pub] }, null, 2)}\n`, secret: false },
  ];
  const refusal = writeKeyFiles(files, opts);
  if (refusal) fail(refusal);
  console.log(`wrote ${privFile} and ${pubFile}`);
}

interface KeyFile {
  file: string;
  text: string;
  secret: boolean;
  /** The new content's temporary name beside `file`. */
  temp?: string;
  /** The replaced file's name while the pair is put in place (`--force`). */
  aside?: string;
  placed?: boolean;
}

function exists(file: string, opts: KeygenOptions): string {
  return `${file} exists; pass --force to replace the key pair (a client registered with its public key then needs the new ${opts.out}.jwks.json)`;
}

/** Writes and places both files; the refusal naming the file that could not be, with nothing changed. */
function writeKeyFiles(files: KeyFile[], opts: KeygenOptions): string | undefined {
  let current = files[0];
  try {
    for (const f of files) {
      current = f;
      f.temp = `${f.file}.${randomUUID()}.tmp`;
      writeNew(f.temp, f.text, f.secret);
    }
    for (const f of files) {
      current = f;
      placeKeyFile(f, opts.force === true);
    }
  } catch (err) {
    for (const f of [...files].reverse()) unplaceKeyFile(f);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && !opts.force) return exists(current.file, opts);
    return `cannot write ${current.file}: ${err instanceof NotAFile ? err.message : fsErrorText(err)}`;
  }
  // Both in place: the replaced files go (a failure here leaves a stale copy, never a broken pair).
  for (const f of files) if (f.aside) rmSync(f.aside, { force: true });
  return undefined;
}

/** A new file holding `text` (O_EXCL; a secret is 0600 before a byte of it is written). */
function writeNew(file: string, text: string, secret: boolean): void {
  const fd = openSync(file, 'wx', secret ? 0o600 : 0o666);
  try {
    if (secret) fchmodSync(fd, 0o600);
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function placeKeyFile(f: KeyFile, force: boolean): void {
  const temp = f.temp as string;
  if (!force) {
    linkSync(temp, f.file);
  } else {
    if (existsSync(f.file)) {
      if (!statSync(f.file).isFile()) throw new NotAFile();
      f.aside = `${f.file}.${randomUUID()}.old`;
      renameSync(f.file, f.aside);
    }
    renameSync(temp, f.file);
  }
  f.placed = true;
  rmSync(temp, { force: true });
}

/** What stands where a key file goes is no file (a folder): --force replaces files only. */
class NotAFile extends Error {
  constructor() {
    super('something other than a file is there');
  }
}

/** Undoes what was done for `f`: its new file removed, the replaced one put back, the temporary gone. */
function unplaceKeyFile(f: KeyFile): void {
  if (f.placed) rmSync(f.file, { force: true });
  if (f.aside && existsSync(f.aside)) renameSync(f.aside, f.file);
  if (f.temp) rmSync(f.temp, { force: true });
}

/**
 * A client assertion signed with the key in `file` (the one private-JWK reader, src/sync/settings.ts):
 * the public JWKS given by mistake or a key jose cannot use is exit 2 naming the file, before signing.
 */
async function assertionWith(id: string, tokenUrl: string, file: string): Promise<string> {
  const { checkSigningKey, clientAssertion, readPrivateJwk } = await import('../../sync/index.ts');
  try {
    const key = readPrivateJwk(file);
    await checkSigningKey(key, file);
    return await clientAssertion(id, tokenUrl, key);
  } catch (err) {
    fail((err as Error).message);
  }
}

export async function assertionAction(id: string, opts: { key: string; tokenUrl: string }): Promise<void> {
  const { checkHttpUrl } = await import('../../shared/http-url.ts');
  try {
    checkHttpUrl(opts.tokenUrl, '--token-url');
  } catch (err) {
    fail((err as Error).message);
  }
  console.log(await assertionWith(id, opts.tokenUrl, opts.key));
}

export async function tokenAction(
  id: string,
  opts: { key: string; url: string; scope?: string; timeout: string },
): Promise<void> {
  const { checkHttpUrl } = await import('../../shared/http-url.ts');
  const { requestFailureText, timeoutOption } = await import('../request-timeout.ts');
  let tokenUrl = '';
  let timeoutMs = 0;
  try {
    tokenUrl = `${checkHttpUrl(opts.url, '--url').replace(/\/+$/, '')}/auth/token`;
    timeoutMs = timeoutOption(opts.timeout);
  } catch (err) {
    fail((err as Error).message);
  }
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertionWith(id, tokenUrl, opts.key),
  });
  if (opts.scope) form.set('scope', opts.scope);
  const signal = AbortSignal.timeout(timeoutMs);
  const res = await fetch(tokenUrl, { method: 'POST', body: form, signal }).catch((err: Error) =>
    fail(`cannot reach ${tokenUrl}: ${requestFailureText(err, timeoutMs)}`, 1),
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
