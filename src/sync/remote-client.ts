import type {
  Bundle,
  BundleEntry,
  CapabilityStatement,
  OperationOutcome,
  Resource,
} from '@medplum/fhirtypes';
import { versionFromEtag, weakEtag } from '../shared/etag.ts';
import { isLoopbackHost } from '../shared/http-url.ts';
import { isJsonObject } from '../shared/json-object.ts';
import { parseAsWritten, stringifyAsWritten } from '../shared/json-text.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { isFhirId } from '../shared/references.ts';
import { parseServerTiming } from '../shared/server-timing.ts';
import type { BundleMode, RemoteConfig } from './config.ts';
import { TokenSource } from './oauth.ts';
import { RemoteHttpError, UnreadableAnswer, buildPolicy, parseRetryAfter } from './resilience.ts';

export interface RemoteAnswer<T = Resource> {
  status: number;
  resource?: T;
  location?: string;
  etag?: string;
}

/** One page of a remote search: its matches and the links it gave. */
export interface SearchPage {
  resources: Resource[];
  next?: string;
  /** The search as the remote says it ran it (a server leaves out what it ignored). */
  self?: string;
}

/**
 * One entry of a remote's type history as the pull reads it: which resource, whether the entry
 * deletes it, and when it was written — nothing of the resource's content.
 */
export interface HistoryItem {
  /** The resource's id on the remote. */
  id: string;
  /** `request.method` DELETE, or (no method, no resource) an answer of 410 Gone. */
  deleted: boolean;
  /** When: `response.lastModified`, else the resource's `meta.lastUpdated` (as the remote wrote it). */
  at?: string;
}

/** One page of a remote's type history: its entries (newest first, as R4 orders them) and its next link. */
export interface HistoryPage {
  items: HistoryItem[];
  next?: string;
}

/** Where a written resource now lives on the remote. */
export interface RemoteRef {
  id: string;
  versionId?: string;
}

export interface RemoteObserver {
  onRequest?(method: string, status: number | 'error', ms: number): void;
  /** The remote's own account of the request (Server-Timing), when it sends one. */
  onServerTiming?(timing: Map<string, number>): void;
  /**
   * A request starts (retries, backoff and token fetch included); returns what to call when it is
   * over. `what` names the method and path and only the names of the query's parameters.
   */
  onWait?(what: string): () => void;
}

/**
 * Asked right before each attempt of a request leaves (`attempt` 0 is the first; a retry after a
 * failure, its backoff or the remote's Retry-After waited out, is 1, 2 …): a throw stops the request
 * there, unsent, and is thrown to the caller as it is (never retried). The push's consent re-check.
 */
export type BeforeAttempt = (attempt: number) => Promise<void>;

/** What a write may ask of its request beyond the signal. */
export interface WriteOptions {
  beforeAttempt?: BeforeAttempt;
}

/**
 * FHIR R4 REST client for a Kanta-style store: bearer tokens, per-attempt timeouts, retries with
 * jittered backoff honouring Retry-After, and a circuit breaker (all via cockatiel).
 */
export class RemoteClient {
  readonly baseUrl: string;
  private readonly tokens?: TokenSource;
  private readonly resilience: ReturnType<typeof buildPolicy>;
  private capabilityMode?: Exclude<BundleMode, 'auto'>;

  constructor(
    readonly config: RemoteConfig,
    private readonly observer: RemoteObserver = {},
  ) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    if (config.auth) this.tokens = new TokenSource(config.auth, config.timeoutMs ?? 10_000);
    this.resilience = buildPolicy(config);
  }

  get breakerState(): string {
    return String(this.resilience.breaker.state);
  }

  /**
   * One HTTP exchange through retry → breaker → timeout. Non-2xx answers throw RemoteHttpError.
   * `beforeAttempt` runs before each attempt, outside the breaker and the attempt's timeout.
   */
  async request<T = Resource>(
    method: string,
    path: string,
    opts: {
      body?: unknown;
      headers?: Record<string, string>;
      signal?: AbortSignal;
      beforeAttempt?: BeforeAttempt;
    } = {},
  ): Promise<RemoteAnswer<T>> {
    const url = path.startsWith('http') ? path : `${this.baseUrl}/${path.replace(/^\/+/, '')}`;
    const over = this.observer.onWait?.(`remote ${method} ${describePath(url, this.baseUrl)}`);
    const { retryPolicy, attempt } = this.resilience;
    try {
      return await retryPolicy.execute(async (retry) => {
        await opts.beforeAttempt?.(retry.attempt);
        return attempt.execute(({ signal }) => this.exchange<T>(method, url, opts, signal), retry.signal);
      }, opts.signal);
    } finally {
      over?.();
    }
  }

  private async exchange<T>(
    method: string,
    url: string,
    opts: { body?: unknown; headers?: Record<string, string> },
    signal: AbortSignal,
    reauthorised = false,
  ): Promise<RemoteAnswer<T>> {
    const headers: Record<string, string> = {
      accept: 'application/fhir+json',
      ...this.config.headers,
      ...opts.headers,
    };
    if (opts.body !== undefined) headers['content-type'] = 'application/fhir+json';
    if (this.tokens) headers.authorization = `Bearer ${await this.tokens.token()}`;
    const started = performance.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : stringifyAsWritten(opts.body),
        signal,
      });
      text = await res.text();
    } catch (err) {
      this.observer.onRequest?.(method, 'error', performance.now() - started);
      throw err;
    }
    this.observer.onRequest?.(method, res.status, performance.now() - started);
    const serverTiming = res.headers.get('server-timing');
    if (serverTiming) this.observer.onServerTiming?.(parseServerTiming(serverTiming));
    if (res.status === 401 && this.tokens && !reauthorised) {
      this.tokens.invalidate();
      return this.exchange(method, url, opts, signal, true);
    }
    let body: unknown;
    if (text) {
      try {
        body = parseAsWritten(text);
      } catch {
        body = undefined;
      }
    }
    if (!res.ok) {
      const oo =
        (body as Resource | undefined)?.resourceType === 'OperationOutcome'
          ? (body as OperationOutcome)
          : undefined;
      throw new RemoteHttpError(res.status, method, url, oo, parseRetryAfter(res.headers.get('retry-after')));
    }
    return {
      status: res.status,
      resource: body as T | undefined,
      location: res.headers.get('location') ?? res.headers.get('content-location') ?? undefined,
      etag: res.headers.get('etag') ?? undefined,
    };
  }

  /** Kanta rule: create only conditionally, keyed by the business identifier. */
  async conditionalCreate(
    resource: Resource,
    ifNoneExist: string,
    signal?: AbortSignal,
    opts: WriteOptions = {},
  ): Promise<RemoteRef & { created: boolean }> {
    const answer = await this.request('POST', resource.resourceType, {
      body: { ...stripForRemote(resource), id: undefined },
      headers: { 'if-none-exist': ifNoneExist, prefer: 'return=representation' },
      signal,
      beforeAttempt: opts.beforeAttempt,
    });
    return { ...refFromAnswer(answer, resource.resourceType), created: answer.status === 201 };
  }

  /** Kanta rule: versioned update with If-Match. */
  async update(
    resource: Resource & { id: string },
    ifMatchVersion: string | undefined,
    signal?: AbortSignal,
    opts: WriteOptions = {},
  ): Promise<RemoteRef> {
    const headers: Record<string, string> = { prefer: 'return=representation' };
    if (ifMatchVersion) headers['if-match'] = weakEtag(ifMatchVersion);
    const answer = await this.request('PUT', `${resource.resourceType}/${encodeURIComponent(resource.id)}`, {
      body: stripForRemote(resource),
      headers,
      signal,
      beforeAttempt: opts.beforeAttempt,
    });
    return refFromAnswer(answer, resource.resourceType, resource.id);
  }

  async read<T extends Resource = Resource>(type: string, id: string, signal?: AbortSignal): Promise<T> {
    const answer = await this.request<T>('GET', `${type}/${encodeURIComponent(id)}`, { signal });
    return answer.resource as T;
  }

  async delete(type: string, id: string, signal?: AbortSignal): Promise<void> {
    await this.request('DELETE', `${type}/${encodeURIComponent(id)}`, { signal });
  }

  /**
   * A batch or transaction Bundle. `minimal`: ask for entries without the stored resources (their
   * Location and ETag are enough to map them), which spares both sides serialising them.
   */
  async bundle(
    bundle: Bundle,
    signal?: AbortSignal,
    opts: WriteOptions & { minimal?: boolean } = {},
  ): Promise<Bundle> {
    const headers = opts.minimal ? { prefer: 'return=minimal' } : undefined;
    const answer = await this.request<Bundle>('POST', '', {
      body: bundle,
      signal,
      headers,
      beforeAttempt: opts.beforeAttempt,
    });
    return answer.resource as Bundle;
  }

  /**
   * Every page of a search, following `next` links. Kanta rule: a search names its patient
   * (except a Patient lookup by identifier).
   */
  async *search(
    type: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): AsyncGenerator<Resource[]> {
    const followed = new Set<string>();
    let page = await this.searchPage(type, params, signal);
    yield page.resources;
    while (page.next) {
      page = await this.nextPage(nextOnce(followed, page.next), signal);
      yield page.resources;
    }
  }

  /** The first page of a search (the Kanta rule of `search` applies). */
  async searchPage(type: string, params: Record<string, string>, signal?: AbortSignal): Promise<SearchPage> {
    if (type !== 'Patient' && !params.patient) {
      throw new FhirError(
        400,
        issue(
          'error',
          'required',
          `sync-search-1: a search of ${type} on a Kanta-style store must name the patient`,
          `${type}.patient`,
        ),
      );
    }
    return this.page(`${type}?${new URLSearchParams(params)}`, signal);
  }

  /** The page a `next` link of this remote names; followed with our credentials, so only under its base. */
  async nextPage(next: string, signal?: AbortSignal): Promise<SearchPage> {
    return this.page(this.followable(next), signal);
  }

  /**
   * The first page of a type's history since `since` (`GET <type>/_history?_since=…`): every version
   * of every resource of the type written since, whoever's client it names — the pull reads only which
   * resource each entry is, whether it is a delete, and when.
   */
  historyPage(
    type: string,
    params: { _since: string; _count: string },
    signal?: AbortSignal,
  ): Promise<HistoryPage> {
    return this.history(`${type}/_history?${new URLSearchParams(params)}`, type, signal);
  }

  /** The history page a `next` link of this remote names (only under its base, as a search's). */
  nextHistoryPage(next: string, type: string, signal?: AbortSignal): Promise<HistoryPage> {
    return this.history(this.followable(next), type, signal);
  }

  private followable(next: string): string {
    if (!underBase(next, this.baseUrl))
      throw new FhirError(
        502,
        issue(
          'error',
          'processing',
          "sync-search-2: the remote's next link leaves its base URL; not followed",
        ),
      );
    return next;
  }

  private async page(url: string, signal?: AbortSignal): Promise<SearchPage> {
    const { bundle, link } = await this.bundleAt(url, 'a search with no searchset Bundle', signal);
    return {
      resources: (bundle?.entry ?? []).flatMap((e) =>
        e.resource && (e.search?.mode ?? 'match') === 'match' ? [e.resource] : [],
      ),
      next: link('next'),
      self: link('self'),
    };
  }

  private async history(url: string, type: string, signal?: AbortSignal): Promise<HistoryPage> {
    const { bundle, link } = await this.bundleAt(url, 'a type history with no history Bundle', signal);
    return {
      items: (bundle.entry ?? []).flatMap((e) => {
        const item = historyItem(e, type);
        return item ? [item] : [];
      }),
      next: link('next'),
    };
  }

  /** A Bundle the remote answered `url` with, and its links by relation; `sync-pull-4` (`refusal`) otherwise. */
  private async bundleAt(url: string, refusal: string, signal?: AbortSignal) {
    const bundle = (await this.request<Bundle>('GET', url, { signal })).resource;
    // Anything else answered 200 (an OperationOutcome, a portal's page, `entry` not a list) is no
    // empty result: read as one, a misdirected remote would look healthy forever.
    if (bundle?.resourceType !== 'Bundle' || (bundle.entry !== undefined && !Array.isArray(bundle.entry)))
      throw new Error(`sync-pull-4: the remote answered ${refusal}`);
    const links = Array.isArray(bundle?.link) ? bundle.link : [];
    const link = (relation: string) => {
      const url = links.find((l) => l?.relation === relation)?.url;
      return typeof url === 'string' ? url : undefined;
    };
    return { bundle, link };
  }

  /** Bundle mode to use: configured, or read from the CapabilityStatement once. */
  async bundleMode(signal?: AbortSignal): Promise<Exclude<BundleMode, 'auto'>> {
    const configured = this.config.bundle ?? 'auto';
    if (configured !== 'auto') return configured;
    if (this.capabilityMode) return this.capabilityMode;
    try {
      const cs = (await this.request<CapabilityStatement>('GET', 'metadata', { signal })).resource;
      const codes = new Set((cs?.rest ?? []).flatMap((r) => (r.interaction ?? []).map((i) => i.code)));
      this.capabilityMode = codes.has('transaction') ? 'transaction' : codes.has('batch') ? 'batch' : 'none';
    } catch {
      this.capabilityMode = 'none';
    }
    return this.capabilityMode;
  }
}

/**
 * What we never send: server-owned meta (the remote assigns its own; callers drop or replace the id).
 * A shallow copy: nested values are shared with `resource`, and neither is ever changed in place —
 * every caller copies what it changes (translateReferences copies the paths to the references it
 * translates), so a deep copy of every resource a push sends would only feed the garbage collector.
 */
export function stripForRemote<T extends Resource>(resource: T): T {
  const meta = (resource as { meta?: Record<string, unknown> }).meta;
  if (!meta) return { ...resource };
  const { versionId: _v, lastUpdated: _l, source: _s, ...rest } = meta;
  return { ...resource, meta: Object.keys(rest).length ? rest : undefined };
}

/**
 * A history entry of `type` as the pull reads it (data of any shape: only what is what it should be
 * counts); undefined when it names no resource of the type by a FHIR id. R4 marks a deleted version
 * by `request.method` DELETE and no resource; a remote that writes no request says 410 Gone instead.
 */
export function historyItem(entry: unknown, type: string): HistoryItem | undefined {
  if (!isJsonObject(entry)) return undefined;
  const resource = isJsonObject(entry.resource) ? entry.resource : undefined;
  const request = isJsonObject(entry.request) ? entry.request : undefined;
  const response = isJsonObject(entry.response) ? entry.response : undefined;
  if (resource && resource.resourceType !== type) return undefined;
  const method = typeof request?.method === 'string' ? request.method.toUpperCase() : undefined;
  const deleted =
    method === 'DELETE' || (!method && !resource && /^410(\D|$)/.test(entryStatus(response) ?? ''));
  const id =
    (isFhirId(resource?.id) ? resource.id : undefined) ??
    idIn(request?.url, type) ??
    idIn(entry.fullUrl, type) ??
    idIn(response?.location, type);
  if (!id) return undefined;
  const meta = isJsonObject(resource?.meta) ? resource.meta : undefined;
  const at = [response?.lastModified, meta?.lastUpdated].find((t) => typeof t === 'string') as
    | string
    | undefined;
  return { id, deleted, ...(at ? { at } : {}) };
}

/** The id in `…/<type>/<id>` or `…/<type>/<id>/_history/<v>` (a request URL, a fullUrl, a Location). */
function idIn(url: unknown, type: string): string | undefined {
  if (typeof url !== 'string') return undefined;
  const path = url.split(/[?#]/)[0].split('/');
  const at = path.lastIndexOf(type);
  if (at < 0) return undefined;
  const rest = path.slice(at + 2);
  const id = path[at + 1];
  const shaped = rest.length === 0 || (rest.length === 2 && rest[0] === '_history');
  return shaped && isFhirId(id) ? id : undefined;
}

/**
 * A Bundle entry's `response.status` as the remote wrote it, read as data: only a string is a status
 * (anything else, even a value that cannot be made text, is no status).
 */
export function entryStatus(response: unknown): string | undefined {
  const said: unknown = (response as { status?: unknown } | null | undefined)?.status;
  return typeof said === 'string' ? said : undefined;
}

/** A Bundle entry's answer (its `response` and resource) as `refFromAnswer` reads a single write's. */
export function entryAnswer(entry: BundleEntry | undefined, status: number): RemoteAnswer {
  return {
    status,
    resource: entry?.resource,
    location: entry?.response?.location,
    etag: entry?.response?.etag,
  };
}

/**
 * id/version from the body, else the Location (…/Type/id/_history/v), else the ETag; `UnreadableAnswer`
 * when none names an id (and no `fallbackId` is given).
 */
export function refFromAnswer(answer: RemoteAnswer, type: string, fallbackId?: string): RemoteRef {
  // Only FHIR ids count: anything else could neither be mapped nor sent back in a reference.
  const etagVersion = fhirIdOrUndefined(versionFromEtag(answer.etag));
  const body = answer.resource;
  if (body?.resourceType === type && isFhirId(body.id))
    return { id: body.id, versionId: fhirIdOrUndefined(body.meta?.versionId) ?? etagVersion };
  const m =
    typeof answer.location === 'string'
      ? new RegExp(`${type}/([^/?]+)(?:/_history/([^/?]+))?`).exec(answer.location)
      : null;
  const id = fhirIdOrUndefined(m?.[1]) ?? fallbackId;
  if (!id)
    throw new UnreadableAnswer(`remote answer to ${type} write names no valid id (in its body or Location)`);
  return { id, versionId: fhirIdOrUndefined(m?.[2]) ?? etagVersion };
}

const fhirIdOrUndefined = (value: unknown): string | undefined => (isFhirId(value) ? value : undefined);

/**
 * `next`, the first time a search follows it (`followed` keeps them): a remote whose next link names a
 * page the search has read already would be read forever.
 */
export function nextOnce(followed: Set<string>, next: string): string {
  if (followed.has(next))
    throw new Error(
      "sync-search-3: the remote's next link names a page this search has read already; paging stopped",
    );
  followed.add(next);
  return next;
}

/**
 * Whether `url` (a link the remote sent) lies under `base`: relative (request() resolves it there), or
 * absolute with the base's origin and a path inside the base's path — not merely starting with its text.
 */
function underBase(url: string, base: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) return !url.startsWith('//');
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  const home = new URL(base);
  const path = home.pathname.replace(/\/+$/, '');
  return sameServer(target, home) && (target.pathname === path || target.pathname.startsWith(`${path}/`));
}

/**
 * The same origin, or the same scheme and port on this machine under another of its names (a server
 * reached as `localhost` may write its links as 127.0.0.1).
 */
function sameServer(a: URL, b: URL): boolean {
  if (a.origin === b.origin) return true;
  return (
    a.protocol === b.protocol && a.port === b.port && isLoopbackHost(a.hostname) && isLoopbackHost(b.hostname)
  );
}

/** A request's path for status: relative to the base, query values left out (they may be identifiers). */
function describePath(url: string, base: string): string {
  const [path, query] = (url.startsWith(base) ? url.slice(base.length) : new URL(url).pathname).split('?');
  const names = query ? [...new URLSearchParams(query).keys()] : [];
  const shown = path.replace(/^\/+/, '') || '(base)';
  return names.length ? `${shown}?${[...new Set(names)].join(',')}` : shown;
}
