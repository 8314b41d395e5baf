// The guarded store's write members: each write and its audit row in one transaction (the caller's,
// when a transaction handler holds one).
import type { Resource } from '@medplum/fhirtypes';
import { hasNonDisclosure } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { CreateOptions, DeleteResult, StoreTx, UpdateOptions, WriteResult } from '../../store/index.ts';
import type { StoreWrites } from '../ports.ts';
import { type AuditRecord, insertAudit } from './audit.ts';
import type { Principal } from './context.ts';
import {
  type Guard,
  checked,
  checkedMatch,
  patientOf,
  record,
  refuseAudited,
  withheld,
} from './guard-context.ts';
import { admitLookup } from './guard-reads.ts';
import { TURVAKIELTO_SCOPE, allows } from './scopes.ts';

/**
 * A receiving party does not write consents: they decide what it may read, so one it wrote (or
 * changed, or deleted) would grant or keep its own access. Refused before anything is written.
 */
export function refuseOwnConsent(p: Principal, type: string): void {
  if (p.party && type === 'Consent')
    throw new FhirError(
      403,
      issue(
        'error',
        'forbidden',
        `sec-consent-3: a receiving party (${p.party}) cannot write consents, which decide its own access`,
        'Consent',
      ),
    );
}

/** A write refused by `blindWriteRefusal`, answered once its transaction is over (and audited then). */
class BlindWrite {
  constructor(
    readonly refusal: FhirError,
    readonly patients: string[],
  ) {}
}

/**
 * An update or delete changes what is stored, so it needs what a read of the stored resource needs.
 * A receiving party may change only what its client's consent lets it read; anything else, a missing
 * resource included, is refused in the words of a withheld read (no 404, 405 or 412 tells it exists).
 * A caller without the turvakielto scope sees a turvakielto Patient redacted: what it sends back (the
 * redacted copy, changed) or a delete would erase the address, telecom and municipality it was never
 * shown. Judged before anything is written. Returns the current version when it read it, or the
 * refusal: the caller audits it after the transaction (a row written inside it would be rolled back
 * with it, and on PGlite, one connection, the audit writer would wait for it forever).
 */
async function blindWriteRefusal(
  g: Guard,
  tx: StoreTx,
  type: string,
  id: string,
): Promise<Resource | BlindWrite | undefined> {
  const { p } = g;
  if (!p.party && (p.turvakielto || type !== 'Patient')) return undefined;
  let current: Resource;
  try {
    current = await tx.read(type, id);
  } catch (err) {
    if (!(err instanceof FhirError) || (err.status !== 404 && err.status !== 410)) throw err;
    if (p.party) return new BlindWrite(withheld(type, id), []);
    return undefined; // the write answers for a missing resource
  }
  const patients = patientOf(current, p.base);
  if (p.party) {
    const refused = await checked({ ...g, base: tx }, current).then(
      () => undefined,
      (err: unknown) => (err instanceof FhirError && err.status === 403 ? err : Promise.reject(err)),
    );
    if (refused) return new BlindWrite(refused, patients);
  }
  if (p.turvakielto || !hasNonDisclosure(current)) return current;
  const text = `sec-tk-1: ${type}/${id} is under turvakielto; changing or deleting it needs the ${TURVAKIELTO_SCOPE} scope`;
  return new BlindWrite(new FhirError(403, issue('error', 'forbidden', text, type)), patients);
}

/** A blind write's refusal, audited (naming the rule and the client) and thrown. */
function refuseBlindWrite(g: Guard, interaction: string, entity: string, blind: BlindWrite): Promise<never> {
  return refuseAudited(g, interaction, entity, blind.patients, blind.refusal);
}

/**
 * A create with criteria (If-None-Exist), or one that must hold identifiers alone (`unique`: a global
 * business identifier, a Patient's HETU, refused 409 when taken), answers one way when a match exists
 * and another when none does: it looks the type up by identifier, which needs what every such lookup
 * needs here (`admitLookup`), and a receiving party is refused it as the front refuses it a
 * conditional create (admit.ts `partyRefusal`). Judged where the store is asked, whichever route
 * asks; refused (and audited) before anything is looked up.
 */
export async function admitCreate(g: Guard, type: string, opts: CreateOptions | undefined): Promise<void> {
  if (opts?.ifNoneExist !== undefined || opts?.unique !== undefined) await admitLookup(g, type, 'create');
}

/** The audit record of one written resource. */
export const writeRecord = (
  p: Principal,
  interaction: string,
  action: AuditRecord['action'],
  r: Resource,
): AuditRecord =>
  record(p, {
    interaction,
    action,
    outcome: '0',
    entities: [`${r.resourceType}/${r.id}`],
    patients: patientOf(r, p.base),
  });

/**
 * A conditional create that found its match answers with the stored resource, not the one sent: the
 * caller sees it only as a read would show it (read permission on the type, a party's consent,
 * turvakielto redaction), and the audit row records a read.
 */
async function matchShown<T extends Resource>(
  g: Guard,
  written: WriteResult<T>,
): Promise<{ result: WriteResult<T>; audit: AuditRecord }> {
  const type = written.resource.resourceType;
  if (!g.p.unrestricted && !allows(g.p.scopes, type, 'r'))
    throw new FhirError(
      403,
      issue(
        'error',
        'forbidden',
        `sec-scope-1: a ${type} matching the conditional criteria exists; answering with it needs read permission on ${type}`,
      ),
    );
  const { resource } = await checkedMatch(g, written.resource);
  return { result: { ...written, resource }, audit: writeRecord(g.p, 'create', 'R', written.resource) };
}

/**
 * A created resource's audit row, or — for a conditional create's match — the match as its caller may
 * see it. `g.base` must be the transaction the create ran in (a party's consents are read in it).
 */
export async function createdOrMatch<T extends Resource>(
  g: Guard,
  written: WriteResult<T>,
): Promise<{ result: WriteResult<T>; audit: AuditRecord }> {
  if (written.created) return { result: written, audit: writeRecord(g.p, 'create', 'C', written.resource) };
  return matchShown(g, written);
}

export function create<T extends Resource>(
  g: Guard,
  resource: T,
  opts?: CreateOptions,
): Promise<WriteResult<T>> {
  return g.inTx(async (tx: StoreTx) => {
    const { result, audit } = await createdOrMatch({ ...g, base: tx }, await tx.create(resource, opts));
    await insertAudit(tx, [audit]);
    return result;
  });
}

export function createMany(
  g: Guard,
  ...[items, opts]: Parameters<StoreWrites['createMany']>
): ReturnType<StoreWrites['createMany']> {
  return g.inTx(async (tx) => {
    const results = await tx.createMany(items, opts);
    const audits: AuditRecord[] = [];
    const shown = await Promise.all(
      results.map(async (r) => {
        if (r instanceof FhirError) return r;
        const { result, audit } = await createdOrMatch({ ...g, base: tx }, r);
        audits.push(audit);
        return result;
      }),
    );
    await insertAudit(tx, audits);
    return shown;
  });
}

export async function update<T extends Resource>(
  g: Guard,
  resource: T,
  opts?: UpdateOptions,
): Promise<WriteResult<T>> {
  const { resourceType: type, id = '' } = resource;
  // A PATCH (a request's or a Bundle entry's) is written as an update, and audited as what the client asked for.
  const interaction = opts?.interaction ?? 'update';
  const done = await g.inTx(async (tx) => {
    const blind = await blindWriteRefusal(g, tx, type, id);
    if (blind instanceof BlindWrite) return blind;
    const written = await tx.update(resource, opts);
    await insertAudit(tx, [writeRecord(g.p, interaction, 'U', written.resource)]);
    return written;
  });
  if (done instanceof BlindWrite) return refuseBlindWrite(g, interaction, `${type}/${id}`, done);
  return done;
}

/**
 * A delete and its audit row, in one transaction: the row names the client of the version it deleted
 * (read in the same transaction), so the client's use log (`AuditEvent?patient=`) has it. A delete of
 * nothing (already deleted, or never there: the store's 404, answered 204) is audited too, with the
 * detail 'nothing to delete'.
 */
export async function remove(
  g: Guard,
  type: string,
  id: string,
  opts?: Parameters<StoreWrites['delete']>[2],
): Promise<DeleteResult> {
  const done = await g.inTx(async (tx): Promise<DeleteResult | FhirError | BlindWrite> => {
    const current = await blindWriteRefusal(g, tx, type, id);
    if (current instanceof BlindWrite) return current;
    let result: DeleteResult | FhirError;
    try {
      result = await tx.delete(type, id, opts);
    } catch (err) {
      if (!(err instanceof FhirError) || err.status !== 404) throw err;
      result = err; // thrown after the transaction, which keeps the audit row
    }
    const deleted = result instanceof FhirError ? undefined : result;
    // The client of what was deleted: the version the guard read before, else the one before the deletion.
    const patients = !deleted
      ? []
      : current
        ? patientOf(current, g.p.base)
        : await patientDeleted(tx, type, id, deleted.versionId, g.p.base);
    await insertAudit(tx, [
      record(g.p, {
        interaction: 'delete',
        action: 'D',
        outcome: '0',
        ...(deleted?.deleted ? {} : { detail: 'nothing to delete' }),
        entities: [`${type}/${id}`],
        patients,
      }),
    ]);
    return result;
  });
  if (done instanceof BlindWrite) return refuseBlindWrite(g, 'delete', `${type}/${id}`, done);
  if (done instanceof FhirError) throw done;
  return done;
}

/** The client of the version a deletion (version `deletion`) ended: the one before it. */
async function patientDeleted(
  tx: StoreTx,
  type: string,
  id: string,
  deletion: string,
  base?: string,
): Promise<string[]> {
  const before = Number(deletion) - 1;
  if (!(before >= 1)) return [];
  return patientOf(await tx.vread(type, id, before), base);
}
