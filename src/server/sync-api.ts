import express from 'express';
import { FhirError, issue } from '../shared/outcome.ts';
import {
  LIST_DEFAULT,
  checkListLimit,
  checkListedState,
  checkOutboxId,
  checkResolveChoice,
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
 * `/api/sync/*`: the sync's status, its stopped rows and conflicts, and the operator's `tyokyky sync
 * retry|resolve` over HTTP — with the embedded store the CLI cannot open the directory the server holds.
 */
export function syncApi(sync: FacadeSync): express.Router {
  const router = express.Router({ caseSensitive: true });
  router.get('/status', async (_req, res) => {
    res.locals.route = '/api/sync/status';
    res.json(await sync.status());
  });
  // GET /api/sync/rows?state=dead|blocked|held|parked[&limit=]: the rows an operator retries or
  // resolves, each with why it stopped (not its content)
  router.get('/rows', async (req, res) => {
    res.locals.route = '/api/sync/rows';
    const state = queryValue(req, 'state', checkListedState);
    res.json(await sync.rows(state, listLimit(req)));
  });
  // GET /api/sync/conflicts[?limit=]: what each conflict with a remote edit was settled by, newest first
  router.get('/conflicts', async (req, res) => {
    res.locals.route = '/api/sync/conflicts';
    res.json(await sync.conflicts(listLimit(req)));
  });
  // POST /api/sync/retry[?id=<outbox row>]
  router.post('/retry', async (req, res) => {
    res.locals.route = '/api/sync/retry';
    const id = req.query.id === undefined ? undefined : queryValue(req, 'id', checkOutboxId);
    res.json({ requeued: await sync.retry(id) });
  });
  // POST /api/sync/pull-refused: the remote resources the pull refused, read again by id
  router.post('/pull-refused', async (_req, res) => {
    res.locals.route = '/api/sync/pull-refused';
    res.json(await sync.pullRefusedAgain().catch(remoteFailure));
  });
  // POST /api/sync/resolve?id=<parked row>&keep=local|remote
  router.post('/resolve', async (req, res) => {
    res.locals.route = '/api/sync/resolve';
    const id = queryValue(req, 'id', checkOutboxId);
    const keep = queryValue(req, 'keep', checkResolveChoice);
    const resolved = await sync.resolve(id, keep);
    res.json(resolved ? { requeued: 1, ...resolved } : { requeued: 0 });
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
