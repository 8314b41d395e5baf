import express from 'express';
import { FhirError, issue } from '../shared/outcome.ts';
import {
  LIST_DEFAULT,
  checkListLimit,
  checkListedState,
  checkOutboxId,
  checkResolveChoice,
  shownOutcome,
} from '../sync/index.ts';
import type { FacadeSync } from './ports.ts';

/**
 * The one route here that reads the remote, failing there (down, refusing, past the pull's bound): a
 * 502 saying so. Never the remote's own status, which would be taken for this facade's answer (a 401
 * from the remote is no reason to re-authenticate here). The message names the request and issue
 * codes only (RemoteHttpError), never what the remote sent.
 */
function remoteFailure(err: unknown): never {
  if (err instanceof FhirError) throw err;
  const why = err instanceof Error ? err.message : String(err);
  throw new FhirError(502, issue('error', 'transient', `sync-pull-2: the remote could not be read: ${why}`));
}

/**
 * Records a successful call before it is answered (the security layer's audit log): what it did, in
 * counts and row numbers, never a row's content (its resource and patient ids, its reason).
 */
export type OperatorAudit = (
  res: express.Response,
  call: { action: 'E' | 'U'; detail: string },
) => Promise<void>;

/** `n row(s)`. */
const rowCount = (n: number) => (n === 1 ? '1 row' : `${n} rows`);

/**
 * `/api/sync/*`: the sync's status, its stopped rows and conflicts, and the operator's `tyokyky sync
 * retry|resolve` over HTTP — with the embedded store the CLI cannot open the directory the server holds.
 * An operator's surface: with security on, the front serves it only to the operator scope and never to
 * a receiving party, and `audit` records each call that succeeds.
 */
export function syncApi(sync: FacadeSync, audit: OperatorAudit = async () => {}): express.Router {
  const router = express.Router({ caseSensitive: true });
  const answer = async (res: express.Response, action: 'E' | 'U', detail: string, body: unknown) => {
    await audit(res, { action, detail });
    res.json(body);
  };
  router.get('/status', async (_req, res) => {
    res.locals.route = '/api/sync/status';
    await answer(res, 'E', 'sync status', await sync.status());
  });
  // GET /api/sync/rows?state=dead|blocked|held|parked[&limit=]: the rows an operator retries or
  // resolves, each with why it stopped (not its content, nor the remote's words: shownOutcome)
  router.get('/rows', async (req, res) => {
    res.locals.route = '/api/sync/rows';
    const state = queryValue(req, 'state', checkListedState);
    const rows = await sync.rows(state, listLimit(req));
    const shown = rows.map((row) => ({ ...row, outcome: shownOutcome(row.outcome) }));
    await answer(res, 'E', `sync rows (${state}): ${rowCount(rows.length)} listed`, shown);
  });
  // GET /api/sync/conflicts[?limit=]: what each conflict with a remote edit was settled by, newest first
  router.get('/conflicts', async (req, res) => {
    res.locals.route = '/api/sync/conflicts';
    const conflicts = await sync.conflicts(listLimit(req));
    await answer(res, 'E', `sync conflicts: ${rowCount(conflicts.length)} listed`, conflicts);
  });
  // POST /api/sync/retry[?id=<outbox row>]
  router.post('/retry', async (req, res) => {
    res.locals.route = '/api/sync/retry';
    const id = req.query.id === undefined ? undefined : queryValue(req, 'id', checkOutboxId);
    const requeued = await sync.retry(id);
    const which = id === undefined ? 'sync retry' : `sync retry of row ${id}`;
    await answer(res, 'U', `${which}: ${rowCount(requeued)} requeued`, { requeued });
  });
  // POST /api/sync/pull-refused: the remote resources the pull refused, read again by id
  router.post('/pull-refused', async (_req, res) => {
    res.locals.route = '/api/sync/pull-refused';
    const again = await sync.pullRefusedAgain().catch(remoteFailure);
    const detail = `sync pull-refused: ${again.listed} listed, ${again.applied} applied`;
    await answer(res, 'U', detail, again);
  });
  // POST /api/sync/resolve?id=<parked row>&keep=local|remote
  router.post('/resolve', async (req, res) => {
    res.locals.route = '/api/sync/resolve';
    const id = queryValue(req, 'id', checkOutboxId);
    const keep = queryValue(req, 'keep', checkResolveChoice);
    const resolved = await sync.resolve(id, keep);
    const detail = `sync resolve of row ${id} (keep ${keep}): ${rowCount(resolved ? 1 : 0)} requeued`;
    await answer(res, 'U', detail, resolved ? { requeued: 1, ...resolved } : { requeued: 0 });
  });
  return router;
}

/** A listing's `limit` (LIST_DEFAULT when absent, as on the CLI). */
const listLimit = (req: express.Request) =>
  req.query.limit === undefined ? LIST_DEFAULT : queryValue(req, 'limit', checkListLimit);

/** A query parameter as `check` takes it; a 400 naming the parameter with `check`'s message otherwise. */
function queryValue<T>(req: express.Request, name: string, check: (v: string) => T): T {
  try {
    return check(String(req.query[name] ?? ''));
  } catch (err) {
    throw FhirError.badRequest((err as Error).message, name);
  }
}
