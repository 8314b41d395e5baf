// Pull from Kanta PHR: the self-assessment responses citizens filled in (for every client with a PHR
// Patient), read back through the SDK into our profile and linked to the local client. Responses the
// citizen restricted (meta.security R) are not imported; that they exist is recorded with the reason.
import type { Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { isFhirId } from '../../shared/references.ts';
import { fromKantaResponse, hiddenReason } from './convert.ts';
import { type PhrPatient, knownPhrPatients } from './patients.ts';
import { auditTransfers, emptyPullResult, markPulledWrites } from './ports.ts';
import type { PullResult } from './ports.ts';
import type { KantaDeps, KantaOptions } from './types.ts';

async function recordSkipped(
  deps: KantaDeps,
  remoteId: string,
  patient: string,
  reason: string,
): Promise<void> {
  await deps.store.query(
    `INSERT INTO sync_kanta_skipped (resource_type, remote_id, local_patient, reason) VALUES ('QuestionnaireResponse', $1, $2, $3)
     ON CONFLICT (resource_type, remote_id) DO UPDATE SET reason = EXCLUDED.reason, seen_at = now()`,
    // The reason may quote what the remote sent, and PostgreSQL's text holds no U+0000.
    [remoteId, patient, reason.replaceAll('\u0000', '\uFFFD')],
  );
}

async function importOne(
  deps: KantaDeps,
  opts: KantaOptions,
  remote: QuestionnaireResponse,
  local: Patient & { id: string },
) {
  const ours = fromKantaResponse(remote, local, opts);
  const ident = ours.identifier;
  return deps.store.transaction(async (tx) => {
    // Marked as pull's write: the outbox does not send it back.
    markPulledWrites(tx);
    const written = await tx.create(ours, { ifNoneExist: `identifier=${ident?.system}|${ident?.value}` });
    if (written.created) {
      const localId = written.resource.id as string;
      await auditTransfers(tx, deps, 'import', [
        { type: 'QuestionnaireResponse', localId, action: 'create', patientId: local.id },
      ]);
    }
    return written;
  });
}

async function pullPatient(
  deps: KantaDeps,
  opts: KantaOptions,
  phr: PhrPatient,
  result: PullResult,
  signal?: AbortSignal,
) {
  const local = (await deps.store.read('Patient', phr.localId)) as Patient & { id: string };
  for await (const page of deps.remote.search(
    'QuestionnaireResponse',
    { patient: `Patient/${phr.remoteId}`, _count: '100' },
    signal,
  )) {
    for (const r of page as QuestionnaireResponse[]) {
      result.fetched++;
      if (!isFhirId(r.id)) {
        // Not even recordable as skipped (its reason is kept by remote id): counted and logged by type.
        deps.log.warn(
          { type: 'QuestionnaireResponse' },
          'sync: Kanta PHR answered a response without a FHIR id; skipped',
        );
        result.skipped++;
        continue;
      }
      const hidden = hiddenReason(r);
      if (hidden) {
        await recordSkipped(deps, r.id, phr.localId, hidden);
        result.skipped++;
        continue;
      }
      try {
        const written = await importOne(deps, opts, r, local);
        if (written.created) result.applied++;
        else result.unchanged++;
      } catch (err) {
        await recordSkipped(
          deps,
          r.id,
          phr.localId,
          `not readable as a self-assessment: ${(err as Error).message}`,
        );
        result.skipped++;
      }
    }
  }
}

export async function kantaPullOnce(
  deps: KantaDeps,
  opts: KantaOptions,
  signal?: AbortSignal,
): Promise<PullResult> {
  const result = emptyPullResult();
  for (const phr of await knownPhrPatients(deps)) {
    result.patients++;
    await pullPatient(deps, opts, phr, result, signal);
  }
  await deps.store.query(
    `INSERT INTO sync_state (key, value) VALUES ('last_pull_success', $1)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [new Date().toISOString()],
  );
  return result;
}
