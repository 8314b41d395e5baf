import type { Resource } from '@medplum/fhirtypes';
import { type SyncContext, businessIdentifier, timed } from './context.ts';
import {
  type IdMapping,
  mappingsForLocal,
  mappingsForRemote,
  upsertMapping,
  upsertMappings,
} from './idmap.ts';
import { ORIGIN_SETTING, unblockConsentPatients } from './outbox.ts';
import { collectReferences, rewriteReferences } from './references.ts';
import type { SyncStoreTx } from './store-port.ts';

export interface PullResult {
  patients: number;
  fetched: number;
  applied: number;
  unchanged: number;
  skipped: number;
}

/** Remote copy → local shape: no remote id or server meta, references through the id map. */
function toLocal(remote: Resource, remoteToLocal: Map<string, string>): Resource {
  const { id: _id, meta, ...rest } = remote;
  const keptMeta = meta && { profile: meta.profile, security: meta.security, tag: meta.tag };
  const clean = {
    ...rest,
    ...(keptMeta && (keptMeta.profile || keptMeta.security || keptMeta.tag) ? { meta: keptMeta } : {}),
  } as Resource;
  return rewriteReferences(clean, (ref) => remoteToLocal.get(ref));
}

type ApplyOutcome = 'applied' | 'unchanged' | 'skipped';

/**
 * Store one remote resource locally (create or update), mapped, without echoing it into the
 * outbox. With `supersede`, queued local changes of the same resource are dropped (remote wins).
 */
export async function applyRemote(
  ctx: SyncContext,
  remote: Resource,
  opts: { supersede?: boolean } = {},
): Promise<ApplyOutcome> {
  return (await applyRemoteBatch(ctx, [remote], opts))[0];
}

/** Many remote resources (a search page) in one local transaction; unchanged versions are skipped. */
export async function applyRemoteBatch(
  ctx: SyncContext,
  remotes: Resource[],
  opts: { supersede?: boolean } = {},
): Promise<ApplyOutcome[]> {
  const keys = remotes.map((r) => `${r.resourceType}/${r.id}`);
  const refs = remotes.flatMap((r) => [...collectReferences(r)]);
  const byRemote = await timed(ctx, 'database', () => mappingsForRemote(ctx.store, [...keys, ...refs]));
  const outcomes: ApplyOutcome[] = remotes.map((r, i) => {
    const version = byRemote.get(keys[i])?.remote_version;
    return version && version === r.meta?.versionId ? 'unchanged' : 'applied';
  });
  const todo = remotes.flatMap((r, i) => (outcomes[i] === 'applied' ? [i] : []));
  if (!todo.length) return outcomes;
  const remoteToLocal = new Map([...byRemote].map(([k, m]) => [k, `${m.resource_type}/${m.local_id}`]));
  await timed(ctx, 'database', () =>
    ctx.store.transaction(async (tx) => {
      await tx.query(`SELECT set_config('${ORIGIN_SETTING}', 'pull', true)`);
      // Resources new to the id map are created together, conditionally on their business
      // identifier; one that turns out to exist locally joins the mapped ones, updated one by one.
      const fresh = todo.flatMap((i) => {
        const ident = byRemote.get(keys[i])?.local_id ? undefined : businessIdentifier(remotes[i]);
        return ident ? [{ i, ifNoneExist: `identifier=${ident.system}|${ident.value}` }] : [];
      });
      const written = await tx.createMany(
        fresh.map(({ i, ifNoneExist }) => ({
          resource: toLocal(remotes[i], remoteToLocal),
          opts: { ifNoneExist },
        })),
      );
      const existing = new Map<number, string | undefined>(
        todo.map((i) => [i, byRemote.get(keys[i])?.local_id]),
      );
      const mappings: IdMapping[] = [];
      const created: Resource[] = [];
      for (const [k, { i }] of fresh.entries()) {
        const w = written[k];
        if (w instanceof Error) throw w;
        if (!w.created) {
          existing.set(i, w.resource.id);
          continue;
        }
        existing.delete(i);
        created.push(w.resource);
        mappings.push(mappingOf(w.resource, remotes[i]));
      }
      await upsertMappings(tx, mappings);
      // Consents changed remotely re-check their clients' blocked rows (also where no hook runs).
      await unblockConsentPatients(tx, created);
      for (const [i, localId] of existing) {
        outcomes[i] = await applyOne(ctx, tx, remotes[i], localId, remoteToLocal, opts);
      }
    }),
  );
  return outcomes;
}

function mappingOf(local: Resource, remote: Resource): IdMapping {
  return {
    resource_type: local.resourceType,
    local_id: local.id as string,
    remote_id: remote.id as string,
    local_version: local.meta?.versionId ?? null,
    remote_version: remote.meta?.versionId ?? null,
  };
}

async function applyOne(
  ctx: SyncContext,
  tx: SyncStoreTx,
  remote: Resource,
  mappedLocalId: string | undefined,
  remoteToLocal: Map<string, string>,
  opts: { supersede?: boolean },
): Promise<ApplyOutcome> {
  const type = remote.resourceType;
  const remoteKey = `${type}/${remote.id}`;
  const local = toLocal(remote, remoteToLocal);
  const policy = ctx.families[type]?.conflict ?? 'park';
  let localId = mappedLocalId;
  if (!localId) {
    const ident = businessIdentifier(remote);
    if (ident) {
      const found = await tx.search(type, { identifier: `${ident.system}|${ident.value}` });
      localId = found.resources[0]?.id;
    }
  }
  if (localId) {
    const queued = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sync_outbox
        WHERE resource_type = $1 AND resource_id = $2 AND state IN ('pending', 'inflight', 'parked')`,
      [type, localId],
    );
    if (queued[0]?.n) {
      if (!opts.supersede && policy !== 'remote-wins') {
        ctx.log.warn(
          { resource: `${type}/${localId}`, remote: remoteKey, policy },
          'sync: pull skipped, local changes queued',
        );
        return 'skipped';
      }
      await tx.query(
        `UPDATE sync_outbox SET state = 'done', reason = 'superseded by the remote version (remote-wins)', claimed_by = NULL,
                updated_at = now()
          WHERE resource_type = $1 AND resource_id = $2 AND state IN ('pending', 'parked')`,
        [type, localId],
      );
      ctx.log.warn(
        { resource: `${type}/${localId}`, remote: remoteKey },
        'sync: queued local change superseded by remote',
      );
    }
  }
  const written = localId
    ? await tx.update({ ...local, id: localId } as Resource, { ifMatchOptional: true })
    : await tx.create(local);
  await unblockConsentPatients(tx, [written.resource]);
  await upsertMapping(tx, mappingOf(written.resource, remote));
  return 'applied';
}

/**
 * Poll the remote for every followed client: `patient` + `_lastUpdated=gt<cursor>` per pulled
 * type, all pages; apply each resource; advance the cursor only after its page is stored.
 */
export async function pullOnce(ctx: SyncContext, signal?: AbortSignal): Promise<PullResult> {
  const result: PullResult = { patients: 0, fetched: 0, applied: 0, unchanged: 0, skipped: 0 };
  const followed = await timed(ctx, 'database', () =>
    ctx.store.query<{ patient_id: string }>('SELECT patient_id FROM sync_followed ORDER BY patient_id'),
  );
  const patientMaps = await timed(ctx, 'database', () =>
    mappingsForLocal(
      ctx.store,
      followed.map((f) => `Patient/${f.patient_id}`),
    ),
  );
  for (const { patient_id } of followed) {
    const remotePatient = patientMaps.get(`Patient/${patient_id}`);
    if (!remotePatient) continue; // not on the remote yet: nothing to pull
    result.patients++;
    for (const type of ctx.pullTypes) {
      const cursorRows = await timed(ctx, 'database', () =>
        ctx.store.query<{ last_updated: string }>(
          'SELECT last_updated FROM sync_cursor WHERE patient_id = $1 AND resource_type = $2',
          [patient_id, type],
        ),
      );
      let cursor = cursorRows[0]?.last_updated;
      const params: Record<string, string> = {
        patient: `Patient/${remotePatient.remote_id}`,
        _count: String(ctx.pullPageSize),
      };
      // Overlap the window a little: a remote may stamp lastUpdated before its commit is visible.
      if (cursor) params._lastUpdated = `gt${new Date(Date.parse(cursor) - ctx.pullOverlapMs).toISOString()}`;
      const pages = ctx.remote.search(type, params, signal);
      while (true) {
        const page = await timed(ctx, 'network', async () => pages.next());
        if (page.done) break;
        const resources = page.value.filter((r) => r.resourceType === type);
        result.fetched += resources.length;
        const outcomes = await applyRemoteBatch(ctx, resources);
        for (const [i, outcome] of outcomes.entries()) {
          result[outcome]++;
          ctx.metrics.pulled.inc({ type, result: outcome });
          const lu = resources[i].meta?.lastUpdated;
          if (lu && (!cursor || Date.parse(lu) > Date.parse(cursor))) cursor = lu;
        }
      }
      // Pages are not sorted by _lastUpdated, so the cursor moves only once all of them are stored.
      if (cursor) {
        const value = cursor;
        await timed(ctx, 'database', () =>
          ctx.store.query(
            `INSERT INTO sync_cursor (patient_id, resource_type, last_updated) VALUES ($1, $2, $3)
           ON CONFLICT (patient_id, resource_type) DO UPDATE SET last_updated = EXCLUDED.last_updated, updated_at = now()`,
            [patient_id, type, value],
          ),
        );
      }
    }
  }
  await timed(ctx, 'database', () =>
    ctx.store.query(
      `INSERT INTO sync_state (key, value) VALUES ('last_pull_success', $1)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [new Date().toISOString()],
    ),
  );
  return result;
}
