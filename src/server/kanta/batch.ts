// Kanta PHR takes `batch` Bundles (HL7 Finland's Kanta examples are batches of conditional creates);
// there is no transaction. Entries succeed or fail on their own; creates go to the store together.
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { weakEtag } from '../../shared/etag.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { inEntry } from '../fhir/interactions.ts';
import { maskedOutcome } from '../http/outcome-cap.ts';
import type { FailedEntry } from '../ports.ts';
import { type EntryRequest, readEntryRequest } from './batch-request.ts';
import {
  type KantaContext,
  type PreparedCreate,
  createOptions,
  deleteOne,
  prepareCreate,
  readOne,
  searchType,
  updateOne,
  withReferenceCheck,
} from './interactions.ts';

type Response = NonNullable<BundleEntry['response']>;

/** The failed entries of one batch, audited before it is answered (its status is a 200 whatever they did). */
type Failures = FailedEntry[];

/** A failed entry for the audit log: `req` as read, absent when its request could not be read. */
function failed(i: number, error: unknown, req?: EntryRequest): FailedEntry {
  if (!req) return { index: i, interaction: 'batch', error };
  const entity = req.id && req.method !== 'POST' ? `${req.type}/${req.id}` : req.type;
  return { index: i, interaction: req.interaction, entity, error };
}

/**
 * A failed entry's answer, each issue naming the entry (`Bundle.entry[i]…`) unless it already does.
 * An unexpected failure (5xx) is logged as the server logs one — by the error's name and the entry's
 * index only: its message or stack could quote what the entry carried.
 */
function errorEntry(ctx: KantaContext, err: unknown, i: number, type?: string): BundleEntry {
  const e =
    err instanceof FhirError
      ? err
      : new FhirError(500, issue('fatal', 'exception', 'Internal error while processing the entry'));
  if (e.status >= 500) {
    const error = err instanceof Error ? err.name : typeof err;
    ctx.log.error(
      { reqId: ctx.requestId, entry: i, error, status: e.status },
      'kanta batch: an entry failed unexpectedly',
    );
  }
  const named = (e.outcome.issue ?? []).flatMap((x) =>
    x.expression?.every((path) => path.startsWith('Bundle.entry[')) ? [x] : inEntry([x], i, type),
  );
  return { response: { status: String(e.status), outcome: maskedOutcome({ ...e.outcome, issue: named }) } };
}

function written(ctx: KantaContext, r: Resource, status: string): BundleEntry {
  const response: Response = {
    status,
    location: `${r.resourceType}/${r.id}/_history/${r.meta?.versionId}`,
    etag: weakEtag(r.meta?.versionId ?? ''),
    lastModified: r.meta?.lastUpdated,
  };
  return { fullUrl: `${ctx.base}/${r.resourceType}/${r.id}`, resource: r, response };
}

/** A GET, PUT or DELETE entry (its request read and checked by readEntryRequest). */
async function otherEntry(ctx: KantaContext, entry: BundleEntry, req: EntryRequest): Promise<BundleEntry> {
  const { type, id, version } = req;
  switch (req.method) {
    case 'GET':
      if (id) return { resource: await readOne(ctx, type, id, version), response: { status: '200' } };
      return { resource: await searchType(ctx, type, req.query ?? {}), response: { status: '200' } };
    case 'PUT': {
      const r = await updateOne(ctx, entry.resource, type, id as string, req.ifMatch);
      return written(ctx, r.resource, '200');
    }
    default:
      await deleteOne(ctx, type, id as string, req.ifMatch);
      return { response: { status: '204' } };
  }
}

/** The batch's creates, written together (after the business-identifier check), each answered. */
async function runCreates(
  ctx: KantaContext,
  creates: { i: number; prepared: PreparedCreate; request: EntryRequest }[],
  out: BundleEntry[],
  failures: Failures,
): Promise<void> {
  if (!creates.length) return;
  const prepared = creates.map((c) => c.prepared);
  const results = await withReferenceCheck(ctx.store, prepared, async (s, refused) => {
    const open = prepared.filter((_, k) => !refused[k]);
    const stored = open.length
      ? await s.createMany(
          open.map((p) => ({
            resource: p.resource,
            opts: createOptions(p),
          })),
        )
      : [];
    return refused.map((r) => r ?? (stored.shift() as (typeof stored)[number]));
  });
  results.forEach((r, k) => {
    const { i, prepared: p, request } = creates[k] as (typeof creates)[number];
    try {
      if (r instanceof FhirError) throw r;
      out[i] = written(ctx, r.resource, r.created ? '201' : '200');
    } catch (err) {
      out[i] = errorEntry(ctx, err, i, p.resource.resourceType);
      failures.push(failed(i, err, request));
    }
  });
}

/**
 * Audits the failed entries (the store's `auditFailedEntry`), in entry order, before the batch is answered.
 * A row that cannot be written is logged (its error's name only), as the front logs the row of a
 * failed request it cannot write: the entries' answers still go.
 */
async function auditFailures(ctx: KantaContext, failures: Failures): Promise<void> {
  if (!failures.length) return;
  const audit = ctx.store.auditFailedEntry?.bind(ctx.store);
  if (!audit) return;
  failures.sort((a, b) => a.index - b.index);
  await Promise.all(
    failures.map((f) =>
      audit(f).catch((err: unknown) =>
        ctx.log.error(
          { reqId: ctx.requestId, entry: f.index, error: err instanceof Error ? err.name : typeof err },
          'kanta batch: the audit row of a failed entry could not be written',
        ),
      ),
    ),
  );
}

function refuseBundle(bundle: Bundle): void {
  if (bundle.type !== 'batch') {
    throw new FhirError(
      400,
      issue(
        'error',
        'not-supported',
        'kanta-batch: Kanta PHR accepts only batch Bundles (Bundle.type batch)',
        'Bundle.type',
      ),
    );
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry))
    throw new FhirError(
      400,
      issue('error', 'structure', 'kanta-batch: Bundle.entry must be an array', 'Bundle.entry'),
    );
}

export async function processKantaBatch(ctx: KantaContext, bundle: Bundle): Promise<Bundle> {
  refuseBundle(bundle);
  const entries: unknown[] = bundle.entry ?? [];
  const out: BundleEntry[] = new Array(entries.length);
  const failures: Failures = [];
  const creates: { i: number; prepared: PreparedCreate; request: EntryRequest }[] = [];
  const others: { i: number; entry: BundleEntry; request: EntryRequest }[] = [];
  for (const [i, raw] of entries.entries()) {
    let read: EntryRequest | undefined;
    try {
      const { entry, request } = readEntryRequest(raw, i);
      read = request;
      if (request.method !== 'POST') {
        others.push({ i, entry, request });
        continue;
      }
      const at = `Bundle.entry[${i}]`;
      const prepared = prepareCreate(ctx, entry.resource, request.type, request.ifNoneExist, at);
      creates.push({ i, prepared, request });
    } catch (err) {
      out[i] = errorEntry(ctx, err, i, read?.type);
      failures.push(failed(i, err, read));
    }
  }
  await runCreates(ctx, creates, out, failures);
  for (const { i, entry, request } of others) {
    try {
      out[i] = await otherEntry(ctx, entry, request);
    } catch (err) {
      out[i] = errorEntry(ctx, err, i, request.type);
      failures.push(failed(i, err, request));
    }
  }
  await auditFailures(ctx, failures);
  return { resourceType: 'Bundle', type: 'batch-response', entry: out };
}
