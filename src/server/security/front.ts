import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { ClusterMemoryStoreWorker } from '@express-rate-limit/cluster-memory-store';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { FhirError, issue } from '../../shared/outcome.ts';
import { requestUrlUnderBase } from '../../shared/references.ts';
import { AUDIT_EVENT_INTERACTIONS } from '../fhir/capability.ts';
import { type Query, searchFormQuery } from '../fhir/posted-parameters.ts';
import { requestJsonAhead } from '../http/json-body.ts';
import { baseUrl, parsePrefer, preferenceApplied, responseType, sendJsonText } from '../http/negotiation.ts';
import type { FacadeStore } from '../ports.ts';
import { workerIndex } from '../workers.ts';
import { type Need, entryNeed, needOf, runsValidate } from './access.ts';
import { partyRefusal, permitted } from './admit.ts';
import { type AuditRecord, type AuditWriter, parseAuditSearch, readAudit, runAuditSearch } from './audit.ts';
import { ANONYMOUS, type Principal, bindRequestStore } from './context.ts';
import type { ForwardedOrigin } from './forwarded.ts';
import { actionOf, record as auditRecord, refusalsAudited } from './guard-context.ts';
import { SYNC_OPERATOR_SCOPE, TURVAKIELTO_SCOPE, parseScopes } from './scopes.ts';
import type { TokenVerifier } from './tokens.ts';

export interface FrontOptions {
  /** Absent when auth is off: every request runs as `anonymous` with every permission. */
  verifier?: TokenVerifier;
  /** The guarded store of one caller, bound to each admitted request for the routes. */
  guard: (p: Principal) => FacadeStore;
  writer: AuditWriter;
  db: { query(sql: string, params?: unknown[]): Promise<unknown> };
  /** The FHIR base for links, e.g. https://host/fhir. */
  fhirBase: () => string;
  /**
   * Requests per minute: per client once authenticated; per address for requests that fail
   * authentication and for token requests.
   */
  rateLimit: number;
  bodyLimit: number | string;
  /** Deepest JSON nesting a body may have, as the routes read it. */
  jsonDepth: number;
  /** Extra routes served before authentication (the embedded authorization server). */
  publicRoutes: express.Router;
  /** The public origin a trusted proxy reports (absent: links keep the configured base). */
  forwarded?: ForwardedOrigin;
  logger: Logger;
}

const AUDIT_INTERACTIONS = new Set<string>(AUDIT_EVENT_INTERACTIONS);

/** Where the embedded authorization server hands out tokens (limited per address). */
const TOKEN_PATH = '/auth/token';

/**
 * RFC 6750 §3: a request without credentials gets the challenge alone, a rejected token
 * `invalid_token`, a token without the scope `insufficient_scope`.
 */
const CHALLENGE = {
  'sec-auth-1': 'Bearer realm="tyokyky-fhir"',
  'sec-auth-2': 'Bearer realm="tyokyky-fhir", error="invalid_token"',
  'sec-scope-1': 'Bearer realm="tyokyky-fhir", error="insufficient_scope"',
} as const;

const refuse = (status: 401 | 403, rule: keyof typeof CHALLENGE, text: string) =>
  new FhirError(status, issue('error', status === 401 ? 'login' : 'forbidden', `${rule}: ${text}`), {
    'WWW-Authenticate': CHALLENGE[rule],
  });

/** Runs an Express-style middleware as a promise. */
const run = (mw: RequestHandler, req: Request, res: Response) =>
  new Promise<void>((resolve, reject) => mw(req, res, (err?: unknown) => (err ? reject(err) : resolve())));

/**
 * A rate limit per key and minute, answered 429 with Retry-After and an OperationOutcome naming the
 * rule (`refusal`). The first refusal of a key's window is marked for the audit log
 * (`res.locals.firstThrottled`); the rest of a flood is not audited, or it would grow the log without
 * bound. In a worker pool (`serve --workers`) the counts are kept in the primary process, so the
 * limit is the pool's, not each worker's.
 */
function rateLimiter(
  name: string,
  limit: number,
  key: (req: Request, res: Response) => string,
  refusal: string,
): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit,
    // In a pool, an increment the primary leaves unanswered (1 s) lets the request through uncounted
    // rather than failing it with a 500: the limit is a guard against floods, not an access rule.
    ...(workerIndex() === undefined
      ? {}
      : { store: new ClusterMemoryStoreWorker({ prefix: name }), passOnStoreError: true }),
    // draft-7 headers: draft-8's policy header hashes the client key on every request.
    standardHeaders: 'draft-7',
    validate: false,
    legacyHeaders: false,
    keyGenerator: key,
    handler: (req, res, next) => {
      res.locals.firstThrottled = (req as { rateLimit?: { used?: number } }).rateLimit?.used === limit + 1;
      next(new FhirError(429, issue('error', 'throttled', refusal)));
    },
  });
}

/** The caller's address as express-rate-limit keys it (an IPv6 address by its /56 network). */
const byAddress = (req: Request) => ipKeyGenerator(req.ip ?? '');

/**
 * The front's three limits: per client once authenticated; per address for requests that fail
 * authentication (checked before their 401 and its audit row, so an unauthenticated flood is cut off
 * after `limit` a minute); per address for token requests.
 */
function rateLimits(limit: number) {
  return {
    client: rateLimiter(
      'client',
      limit,
      (_req, res) => (res.locals.principal as Principal).clientId,
      'sec-rate-1: too many requests; retry after the time in Retry-After',
    ),
    unauthenticated: rateLimiter(
      'unauthenticated',
      limit,
      byAddress,
      'sec-rate-2: too many requests without a valid access token from this address; retry after the time in Retry-After',
    ),
    token: rateLimiter(
      'token',
      limit,
      byAddress,
      'sec-rate-3: too many token requests from this address; retry after the time in Retry-After',
    ),
  };
}

/** Who a request is before (or without) authentication, in its audit row. */
const unauthenticated = (req: Request): Principal => ({
  ...ANONYMOUS,
  clientId: 'unauthenticated',
  unrestricted: false,
  requestId: req.id,
});

/** Writes the audit row of a refused or failed request (and marks the response as audited). */
function auditRequest(
  writer: AuditWriter,
  res: Response,
  p: Principal,
  need: Need,
  outcome: AuditRecord['outcome'],
  detail: string,
): Promise<void> {
  res.locals.audited = true;
  const fhir = need.kind === 'fhir' ? need : undefined;
  // The audit log's own routes by their interaction too (a refused `create` or `history-type` on it).
  const route = fhir ?? (need.kind === 'audit' ? need : undefined);
  return writer.record({
    client: p.clientId,
    ...(p.party ? { party: p.party } : {}),
    ...(p.requestId ? { requestId: p.requestId } : {}),
    interaction: route?.interaction ?? (need.kind === 'bundle' ? 'transaction' : 'operation'),
    action: route ? actionOf(route.interaction) : 'E',
    outcome,
    detail,
    entities: fhir
      ? [fhir.id ? `${fhir.type}/${fhir.id}` : fhir.type]
      : need.kind === 'audit'
        ? ['AuditEvent']
        : [],
    patients: [],
  });
}

/** `Bearer <token>`: the scheme in any case (RFC 7235 §2.1, RFC 6750 §2.1), one or more spaces, one token. */
const BEARER = /^Bearer +(\S+)\s*$/i;

/**
 * Bearer-token authentication: the principal of a verified token (`anonymous` with every
 * permission when auth is off). Every token is verified; the principal built from a verified
 * token's client, scope and party is kept for the next token with the same three.
 */
function authenticator(verifier: TokenVerifier | undefined): (req: Request) => Promise<Principal> {
  const principals = new Map<string, Principal>();
  const principalOf = (claims: JWTPayload): Principal => {
    const scope = typeof claims.scope === 'string' ? claims.scope : '';
    const party = typeof claims.tyokyky_party === 'string' ? claims.tyokyky_party : undefined;
    const clientId = String(claims.client_id ?? claims.sub);
    const key = `${clientId}\n${party ?? ''}\n${scope}`;
    let p = principals.get(key);
    if (!p) {
      const tokens = scope.split(/\s+/);
      p = {
        clientId,
        ...(party ? { party } : {}),
        scopes: parseScopes(scope),
        unrestricted: false,
        turvakielto: tokens.includes(TURVAKIELTO_SCOPE),
        syncOperator: tokens.includes(SYNC_OPERATOR_SCOPE),
      };
      if (principals.size >= 1000) principals.clear();
      principals.set(key, p);
    }
    return p;
  };
  return async (req) => {
    if (!verifier) return { ...ANONYMOUS, requestId: req.id };
    const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw refuse(401, 'sec-auth-1', 'a Bearer access token is required');
    let claims: JWTPayload;
    try {
      claims = await verifier.verify(token);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'invalid';
      throw refuse(401, 'sec-auth-2', `the access token was rejected (${code})`);
    }
    return { ...principalOf(claims), requestId: req.id };
  };
}

/**
 * A transaction or batch: every entry's interaction must be permitted, else the whole is refused
 * (audited) before anything is processed. Reads the body as the router does (a malformed one is refused here as it would be there).
 */
async function checkBundle(
  req: Request,
  res: Response,
  p: Principal,
  raw: RequestHandler,
  opts: Pick<FrontOptions, 'writer' | 'jsonDepth' | 'fhirBase'>,
): Promise<void> {
  const { writer } = opts;
  let bundle: { entry?: { request?: { method?: string; url?: string; ifNoneExist?: unknown } }[] };
  try {
    await run(raw, req, res);
    // Read exactly as the router will read it (charset, byte-order mark, the same checks): a body it
    // would take is judged here, and one it would refuse is refused here, never let through unjudged.
    bundle = requestJsonAhead(req, { maxDepth: opts.jsonDepth }, 'a Bundle') as typeof bundle;
  } catch (err) {
    // Refused before the route's audit listener exists: its row is written here.
    const status = (err as { status?: unknown }).status ?? 400; // FhirError, or body-parser's 413
    await auditRequest(writer, res, p, { kind: 'bundle' }, '4', `answered ${status}`);
    throw err;
  }
  const base = baseUrl(req, opts.fhirBase());
  for (const [i, entry] of (Array.isArray(bundle?.entry) ? bundle.entry : []).entries()) {
    const request = entry?.request;
    const need = entryNeed(
      request?.method,
      typeof request?.url === 'string' ? requestUrlUnderBase(request.url, base) : undefined,
      request?.ifNoneExist !== undefined,
    );
    const partyRule = need && partyRefusal(p, need, `Bundle.entry[${i}].request`);
    if (partyRule) {
      await auditRequest(writer, res, p, need, '4', partyRule.outcome.issue?.[0]?.diagnostics ?? '');
      throw partyRule;
    }
    if (need && need.kind !== 'bundle' && need.kind !== 'audit' && permitted(p, need)) continue;
    await auditRequest(writer, res, p, need ?? { kind: 'bundle' }, '4', `entry ${i} refused`);
    const what = `${request?.method ?? '?'} ${String(request?.url ?? '?').split('?')[0]}`;
    throw new FhirError(
      403,
      issue(
        'error',
        'forbidden',
        `sec-scope-2: entry ${i} (${what}) is outside the granted scopes; nothing was processed`,
        `Bundle.entry[${i}].request`,
      ),
    );
  }
}

/**
 * A search's parameters: the URL's, and for POST AuditEvent/_search the form in its body as well
 * (R4's search by POST, read by the rule every POSTed search follows).
 */
async function auditSearchQuery(req: Request, res: Response, raw: RequestHandler): Promise<Query> {
  const query = req.query as Query;
  if (req.method !== 'POST') return query;
  await run(raw, req, res);
  const body = Buffer.isBuffer(req.body) ? (req.body as Buffer) : undefined;
  return searchFormQuery(query, body, req.headers['content-type'], 'POST AuditEvent/_search');
}

/** GET /fhir/AuditEvent[/:id] and POST /fhir/AuditEvent/_search: the audit log, read-only. */
async function serveAudit(
  req: Request,
  res: Response,
  p: Principal,
  need: Extract<Need, { kind: 'audit' }>,
  opts: FrontOptions & { raw: RequestHandler },
): Promise<void> {
  const posted = req.method === 'POST';
  res.locals.route = need.id ? '/fhir/AuditEvent/:id' : `/fhir/AuditEvent${posted ? '/_search' : ''}`;
  // _format and Accept as every FHIR interaction takes them (406 for what is not produced).
  const format = typeof req.query._format === 'string' ? req.query._format : undefined;
  res.locals.contentType = responseType(format, req.headers.accept);
  const prefer = parsePrefer(req.headers.prefer);
  const base = baseUrl(req, opts.fhirBase());
  const query = need.id ? undefined : await auditSearchQuery(req, res, opts.raw);
  const search = query && parseAuditSearch(base, query, prefer);
  const body = search
    ? await runAuditSearch(opts.db, base, search)
    : await readAudit(opts.db, need.id as string);
  // Reading the log is an access to what it holds of clients: recorded before it is answered.
  await opts.writer.record(
    auditRecord(p, {
      interaction: need.id ? 'read' : 'search-type',
      action: need.id ? 'R' : 'E',
      outcome: '0',
      entities: [need.id ? `AuditEvent/${need.id}` : 'AuditEvent'],
      // Each patient searched for, as the search read it (`A,B`, `<base>/Patient/A`: each in its use log).
      patients: search?.patients ?? [],
      ...(query ? { query: queryText(req, query) } : {}),
    }),
  );
  if (search) res.set(preferenceApplied(prefer, ['handling']));
  sendJsonText(res, 200, JSON.stringify(body));
}

/** The query a search of the log is recorded with: as the URL carried it, or (POSTed) every parameter. */
function queryText(req: Request, query: Query): string {
  if (req.method !== 'POST') return new URL(req.url, 'http://query.invalid').search.slice(1);
  const text = new URLSearchParams();
  for (const [name, values] of Object.entries(query)) for (const v of [values].flat()) text.append(name, v);
  return text.toString();
}

/**
 * POST AuditEvent/_search is a search of the log (R4 allows any search by POST): admitted, and refused,
 * as GET AuditEvent is. Any other POST to the log is a write (sec-audit-1).
 */
function auditSearchByPost(need: Need): Need {
  return need.kind === 'audit' && need.method === 'POST' && need.interaction === 'search-type'
    ? { ...need, method: 'GET' }
    : need;
}

/**
 * The audit log is read-only (a write is 405, `Allow: GET, HEAD`) and answers read and search only:
 * history and vread, asked with GET as they are, are interactions it does not offer — 400
 * `not-supported`, not a 405, which would say GET itself is refused.
 */
function auditMethodRefusal(need: Need): FhirError | undefined {
  if (need.kind !== 'audit') return undefined;
  if (need.method !== 'GET' && need.method !== 'HEAD')
    return new FhirError(
      405,
      issue('error', 'not-supported', 'sec-audit-1: the audit log cannot be written through the API'),
      { Allow: 'GET, HEAD' },
    );
  if (!AUDIT_INTERACTIONS.has(need.interaction))
    return new FhirError(
      400,
      issue(
        'error',
        'not-supported',
        `sec-audit-2: the audit log answers read and search only, not ${need.interaction}`,
      ),
    );
  return undefined;
}

type Admit = (req: Request, res: Response, need: Need) => Promise<Principal>;

/**
 * Admission of a request: authentication (a failed one limited per address before it is refused),
 * the per-client limit, the audit log's methods, what a receiving party is refused whatever its
 * scopes, the scopes (each entry of a Bundle). A refusal (every 4xx, of 429s the first of a key's
 * window) is audited before it is thrown.
 */
function admission(opts: FrontOptions, limits: ReturnType<typeof rateLimits>): Admit {
  const raw = express.raw({ type: () => true, limit: opts.bodyLimit });
  const authenticate = authenticator(opts.verifier);
  const signIn = async (req: Request, res: Response): Promise<Principal> => {
    try {
      return await authenticate(req);
    } catch (err) {
      await run(limits.unauthenticated, req, res); // 429 once this address has failed too often
      throw err;
    }
  };
  return async (req, res, need) => {
    let p: Principal | undefined;
    try {
      p = await signIn(req, res);
      res.locals.principal = p;
      res.locals.clientId = p.clientId;
      await run(limits.client, req, res);
      const refusal = auditMethodRefusal(need) ?? partyRefusal(p, need);
      if (refusal) throw refusal;
      if (!permitted(p, need))
        throw refuse(403, 'sec-scope-1', 'the granted scopes do not permit this interaction');
      if (need.kind === 'bundle' && !p.unrestricted) await checkBundle(req, res, p, raw, opts);
      return p;
    } catch (err) {
      // Every refusal (any 4xx: 401, 403, the audit log's 405…), but of a flood's 429s only the first.
      const status = err instanceof FhirError ? err.status : 0;
      if (
        status >= 400 &&
        status < 500 &&
        (status !== 429 || res.locals.firstThrottled) &&
        !res.locals.audited
      )
        await auditRequest(
          opts.writer,
          res,
          p ?? unauthenticated(req),
          need,
          '4',
          (err as FhirError).outcome.issue?.[0]?.diagnostics ?? String(status),
        );
      throw err;
    }
  };
}

/**
 * A public route. Token requests are limited per address (each one reads the client registry and
 * records its assertion's jti); the first refusal of a window is audited.
 */
async function servePublic(
  req: Request,
  res: Response,
  next: NextFunction,
  opts: FrontOptions,
  tokenLimit: RequestHandler,
): Promise<void> {
  if (req.path === TOKEN_PATH) {
    try {
      await run(tokenLimit, req, res);
    } catch (err) {
      if (res.locals.firstThrottled) {
        const text = (err as FhirError).outcome?.issue?.[0]?.diagnostics ?? 'throttled';
        await auditRequest(opts.writer, res, unauthenticated(req), { kind: 'public' }, '4', text);
      }
      throw err;
    }
  }
  opts.publicRoutes(req, res, next);
}

/**
 * The security front of the app, mounted before every route: security headers and `no-store`,
 * discovery and token endpoints, bearer-token authentication, rate limits, the scope check of the
 * interaction the request asks for (each entry of a transaction), the read-only audit log endpoint,
 * and the caller's guarded store, bound to the request for the routes. Every refusal is audited
 * before it is answered; any other failed request is audited when it finishes.
 */
export function securityFront(opts: FrontOptions): RequestHandler {
  const headers = securityHeaders();
  const limits = rateLimits(opts.rateLimit);
  const admit = admission(opts, limits);
  const audit = { ...opts, raw: express.raw({ type: () => true, limit: opts.bodyLimit }) };

  /**
   * On `finish` (one listener shared by all): a failed request the front admitted is audited, and so
   * is a `$validate` that succeeded (`auditValidated`).
   */
  function auditFinished(this: Response): void {
    if (this.statusCode < 400) {
      auditValidated(this);
      return;
    }
    if (this.locals.audited) return;
    const status = this.statusCode;
    const p = this.locals.principal as Principal;
    if (refusalsAudited.has(p)) return; // the guard wrote the refusal's row, naming what was refused
    auditRequest(
      opts.writer,
      this,
      p,
      this.locals.need as Need,
      status >= 500 ? '8' : '4',
      `answered ${status}`,
    ).catch((e) =>
      opts.logger.error({ err: e, reqId: p.requestId }, 'audit row of a failed request could not be written'),
    );
  }

  /**
   * A `$validate` answered 200: the validation of what the caller sent reads nothing through the
   * guarded store (a stored resource it validates leaves that read's row as well), so its row, an
   * `operation` naming the type or the instance, is written here. Nothing of the body is recorded.
   */
  function auditValidated(res: Response): void {
    const need = res.locals.need as Need;
    if (need.kind !== 'fhir' || !res.locals.validates) return;
    const p = res.locals.principal as Principal;
    res.locals.audited = true;
    opts.writer
      .record(
        auditRecord(p, {
          interaction: 'operation',
          action: 'E',
          outcome: '0',
          entities: [need.id ? `${need.type}/${need.id}` : need.type],
          patients: [],
        }),
      )
      .catch((e) =>
        opts.logger.error({ err: e, reqId: p.requestId }, 'audit row of a $validate could not be written'),
      );
  }

  const front = async (req: Request, res: Response, next: NextFunction) => {
    const conditional = req.headers['if-none-exist'] !== undefined;
    const need = auditSearchByPost(needOf(req.method, req.path, () => req.query.mode, conditional));
    if (need.kind === 'public') return servePublic(req, res, next, opts, limits.token);
    res.setHeader('Cache-Control', 'no-store');
    const p = await admit(req, res, need);
    p.base = baseUrl(req, opts.fhirBase());
    res.locals.need = need;
    // Read off the path here: once a router has taken the request, its path is the router's.
    if (need.kind === 'fhir' && need.interaction === 'operation')
      res.locals.validates = runsValidate(req.method, req.path);
    // `on`, not `once`: a response finishes once, and `once` would wrap the listener per request.
    res.on('finish', auditFinished);
    if (need.kind === 'audit') return serveAudit(req, res, p, need, audit);
    bindRequestStore(res, opts.guard(p));
    next();
  };

  return (req, res, next) => {
    // Read by every link builder (http/negotiation.ts baseUrl) for this request.
    const origin = opts.forwarded?.(req);
    if (origin) res.locals.forwardedOrigin = origin;
    headers(res);
    front(req, res, next).catch(next);
  };
}

/**
 * An API's headers, set by helmet: a CSP that lets nothing load or frame an answer (without helmet's
 * page defaults, which would add `style-src 'unsafe-inline'` and the like), `X-Frame-Options: DENY`,
 * nosniff, no referrer, HSTS, same-origin CORP/COOP; not the headers only an HTML page has a use for.
 * Worked out once: the set is the same for every response, so helmet runs at start-up against a
 * recorder and each response gets the recorded headers (running helmet's middlewares per request cost
 * about a tenth of a cached read).
 */
const API_HEADERS = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  xFrameOptions: { action: 'deny' },
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xXssProtection: false,
} as const;

function securityHeaders(): (res: Response) => void {
  const recorder = new HeaderRecorder(new IncomingMessage(new Socket()));
  let failed: unknown;
  helmet(API_HEADERS)(recorder.req, recorder, (err?: unknown) => {
    failed = err;
  });
  const set = Object.entries(recorder.getHeaders()).filter(
    (h): h is [string, string | number | string[]] => h[1] !== undefined,
  );
  if (failed || !set.length) throw new Error('sec-head-1: the security headers could not be worked out');
  return (res) => {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of recorder.removed) res.removeHeader(name);
  };
}

/** A response that is never sent, remembering which headers were removed from it. */
class HeaderRecorder extends ServerResponse {
  readonly removed: string[] = [];
  override removeHeader(name: string): void {
    this.removed.push(name);
    super.removeHeader(name);
  }
}
