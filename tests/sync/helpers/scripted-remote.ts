/**
 * A remote whose search answers the test writes: a small FHIR-shaped HTTP server (no Bundles, so the
 * sync writes one by one) that keeps what it is sent and answers a search of a type with exactly the
 * resources the test put in `answers` — whatever their shape. For what no real server would store:
 * a remote sending malformed data must not break the pull or the local store.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll } from 'vitest';
import { type Store, openStore } from '../../../src/store/index.ts';
import {
  type CreateSyncOptions,
  type RemoteConfig,
  type SyncService,
  createSync,
} from '../../../src/sync/index.ts';
import { consent, patient } from './fixtures.ts';

export interface ScriptedRemote {
  /** FHIR base URL. */
  url: string;
  /** What a search of each type answers (one page, every entry a match). */
  answers: Record<string, unknown[]>;
  /** When set, the `next` link of every search page. */
  nextLink?: string;
  /** When set, what every search is answered with instead of a Bundle of `answers` — whatever its shape. */
  searchAnswer?: ScriptedAnswer;
  /**
   * When set, what every write (POST, PUT) is answered with instead of the kept resource — whatever
   * its shape: a status, a body and a Location header. The write is kept all the same.
   */
  writeAnswer?: ScriptedAnswer;
  /**
   * When set, the remote takes batch Bundles (its CapabilityStatement says so) and answers each with
   * this — whatever its shape; else it declares no Bundles and a Bundle POSTed is a 405.
   */
  bundleAnswer?: ScriptedAnswer;
  /** The last Bundle POSTed while `bundleAnswer` was set. */
  lastBundle?: unknown;
  close(): Promise<void>;
}

export interface ScriptedAnswer {
  status: unknown;
  body?: unknown;
  location?: unknown;
}

const FHIR_JSON = { 'content-type': 'application/fhir+json' };

/** A scripted answer as HTTP can carry it: a status the server may send, text headers. */
function sendScripted(res: ServerResponse, a: ScriptedAnswer): void {
  const status =
    typeof a.status === 'number' && a.status >= 200 && a.status <= 599 ? Math.trunc(a.status) : 500;
  const headers: Record<string, string> = { ...FHIR_JSON };
  if (typeof a.location === 'string' && /^[\x20-\x7e]*$/.test(a.location)) headers.location = a.location;
  res.writeHead(status, headers);
  res.end(a.body === undefined ? '' : JSON.stringify(a.body));
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

export async function startScriptedRemote(): Promise<ScriptedRemote> {
  const held = new Map<string, Resource>();
  const answers: Record<string, unknown[]> = {};
  const scripted: ScriptedRemote = { url: '', answers, close: async () => undefined };
  const send = (
    res: ServerResponse,
    status: number,
    value: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { ...FHIR_JSON, ...headers });
    res.end(JSON.stringify(value));
  };
  const keep = (resource: Record<string, unknown>, type: string, id: string, version: number): Resource => {
    const kept = {
      ...resource,
      resourceType: type,
      id,
      meta: { versionId: String(version), lastUpdated: new Date().toISOString() },
    } as Resource;
    held.set(`${type}/${id}`, kept);
    return kept;
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://remote');
    const [type, id] = url.pathname.split('/').filter(Boolean);
    if (req.method === 'GET' && type === 'metadata') {
      const rest = scripted.bundleAnswer ? [{ mode: 'server', interaction: [{ code: 'batch' }] }] : [];
      return send(res, 200, {
        resourceType: 'CapabilityStatement',
        status: 'active',
        kind: 'instance',
        rest,
      });
    }
    if (req.method === 'POST' && !type && scripted.bundleAnswer) {
      scripted.lastBundle = await body(req);
      return sendScripted(res, scripted.bundleAnswer);
    }
    if (req.method === 'POST' && type && !id) {
      const kept = keep(await body(req), type, randomUUID(), 1);
      if (scripted.writeAnswer) return sendScripted(res, scripted.writeAnswer);
      return send(res, 201, kept, { location: `${base}/${type}/${kept.id}/_history/1` });
    }
    if (req.method === 'PUT' && type && id) {
      const before = held.get(`${type}/${id}`);
      const kept = keep(await body(req), type, id, Number(before?.meta?.versionId ?? 0) + 1);
      if (scripted.writeAnswer) return sendScripted(res, scripted.writeAnswer);
      return send(res, before ? 200 : 201, kept);
    }
    if (req.method === 'GET' && type && id) {
      const found = held.get(`${type}/${id}`);
      return found ? send(res, 200, found) : send(res, 404, { resourceType: 'OperationOutcome', issue: [] });
    }
    if (req.method === 'GET' && type) {
      if (scripted.searchAnswer) return sendScripted(res, scripted.searchAnswer);
      const entry = (answers[type] ?? []).map((resource) => ({ resource, search: { mode: 'match' } }));
      const link = scripted.nextLink ? [{ relation: 'next', url: scripted.nextLink }] : undefined;
      return send(res, 200, { resourceType: 'Bundle', type: 'searchset', entry, ...(link ? { link } : {}) });
    }
    send(res, 405, { resourceType: 'OperationOutcome', issue: [] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(scripted, {
    url: base,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** A local store on PGlite syncing with a scripted remote, one client on both sides. */
export interface FollowedClient {
  store: Store;
  sync: SyncService;
  /** The client's Patient here and its id on the remote. */
  patientId: string;
  remotePatientId: string;
  close(): Promise<void>;
}

/**
 * A store and its sync with `remote` (`remoteOptions` over a quick retry), and a client with a consent
 * pushed there — sent one by one, whatever Bundle answer the remote is scripted with.
 */
export async function followOnScripted(
  remote: ScriptedRemote,
  hetu: string,
  remoteOptions: Partial<RemoteConfig> = {},
  options: Omit<CreateSyncOptions, 'store' | 'remote'> = {},
): Promise<FollowedClient> {
  const store = await openStore({ dataDir: 'memory://' });
  const sync = createSync({
    store,
    remote: {
      baseUrl: remote.url,
      party: 'other-health-care',
      retry: { initialDelayMs: 1, maxDelayMs: 2 },
      ...remoteOptions,
    },
    today: () => '2026-06-01',
    ...options,
  });
  await sync.ready;
  const p = (await store.create(patient(hetu))).resource as Patient;
  await store.create(consent(p.id as string));
  const scripted = remote.bundleAnswer;
  remote.bundleAnswer = undefined;
  const pushed = await sync.pushOnce().finally(() => {
    remote.bundleAnswer = scripted;
  });
  if (pushed.done !== 2)
    throw new Error(`the client did not reach the scripted remote: ${JSON.stringify(pushed)}`);
  const [mapped] = await store.query<{ remote_id: string }>(
    "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Patient' AND local_id = $1",
    [p.id],
  );
  return {
    store,
    sync,
    patientId: p.id as string,
    remotePatientId: mapped?.remote_id as string,
    async close() {
      await sync.stop();
      await store.close();
    },
  };
}

/**
 * A scripted remote and a client followed on it (`followOnScripted`) for the test file that calls
 * this: opened before its tests (the file's own beforeAll hooks, registered after, run after it) and
 * closed after them.
 */
export function scriptedPerSuite(hetu: string): {
  readonly remote: ScriptedRemote;
  readonly followed: FollowedClient;
} {
  let remote: ScriptedRemote | undefined;
  let followed: FollowedClient | undefined;
  beforeAll(async () => {
    remote = await startScriptedRemote();
    followed = await followOnScripted(remote, hetu);
  });
  afterAll(async () => {
    await followed?.close();
    await remote?.close();
  });
  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('scriptedPerSuite: used before its beforeAll ran');
    return value;
  };
  return {
    get remote() {
      return opened(remote);
    },
    get followed() {
      return opened(followed);
    },
  };
}
