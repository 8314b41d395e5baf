import type {
  Bundle,
  BundleEntry,
  BundleEntryResponse,
  Consent,
  OperationOutcome,
  QuestionnaireResponse,
  Resource,
} from '@medplum/fhirtypes';
import { weakEtag } from '../../shared/etag.ts';
import { issue, outcome } from '../../shared/outcome.ts';
// One push round to Kanta PHR: claim outbox rows; what Kanta PHR cannot hold is settled as "not
// applicable to this remote"; self-assessment responses pass the consent gate, get their client's
// pseudonymous PHR Patient, and go as one batch Bundle of conditional creates (no transaction).
// The FHIR-store push's rules hold here too, through its own functions: right before anything leaves,
// rows a Consent marked while in flight go back to be gated again (consentReleased), before every
// attempt of a write, a retry the remote client makes too (consentGuard); an open
// circuit or refused credentials stop the round with its rows waiting, none dead (roundStop).
import { identifierCriteria } from '../../store/index.ts';
import { DELETED_THERE, settleKantaConflict } from './conflict.ts';
import { notCitizensReason, toKantaResponse, unreadableReason } from './convert.ts';
import {
  type KantaMapping,
  identifierKey,
  mappingsOfLocal,
  recordMappings,
  recordOwnCreates,
} from './mapping.ts';
import { matchIsOf } from './ownership.ts';
import { type PhrPatient, ensurePhrPatient } from './patients.ts';
import {
  CONSENT_CHANGED_IN_FLIGHT,
  ConsentChangedInFlight,
  CredentialsRefused,
  LeaseLost,
  OtherParty,
  type OutboxRow,
  RemoteHttpError,
  type Round,
  SUPERSEDED_BY_SENT,
  accountedRows,
  auditTransfers,
  claim,
  consentGuard,
  consentReleased,
  entryAnswer,
  entryStatus,
  exportOf,
  isOlderThanSent,
  issueSummary,
  keepLease,
  laterRowsOf,
  reclaimAbandoned,
  refFromAnswer,
  release,
  roundClaimId,
  roundStop,
  sendAs,
  setState,
  settle,
  settleBlocked,
  stoppedRoundDelay,
  vanishedVersion,
} from './ports.ts';
import type { PushRoundResult, SyncContext } from './ports.ts';
import { isTransient } from './ports.ts';
import { KANTA, KANTA_PUSH_TYPES, type KantaOptions, type KantaRound, NOT_APPLICABLE } from './types.ts';

const DATA_CLASS = 'work-ability-assessment';

function emptyResult(): PushRoundResult {
  return { claimed: 0, done: 0, dead: 0, blocked: 0, parked: 0, retrying: 0, waiting: 0, held: 0 };
}

interface Prepared {
  row: OutboxRow;
  entry: BundleEntry;
  /** The Kanta PHR id of the client's PHR Patient (what a matched response must be of). */
  phr: string;
  /** Where Kanta PHR holds the response, for a versioned update. */
  update?: KantaMapping;
}

async function consentsOf(deps: KantaRound, patientId: string): Promise<Consent[]> {
  const page = await deps.store.search('Consent', { patient: `Patient/${patientId}`, _count: '1000' });
  return page.resources as Consent[];
}

/**
 * Consent gate per client (the same rule as the FHIR-store adapter); blocked rows wait for a consent.
 * `consents` gets, per client let through, the Consent that permitted it (for the audit rows).
 */
async function gate(
  deps: KantaRound,
  rows: OutboxRow[],
  result: PushRoundResult,
  consents: Map<string, string[]>,
): Promise<OutboxRow[]> {
  const passing: OutboxRow[] = [];
  const byPatient = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const list = byPatient.get(row.patient_id ?? '') ?? [];
    list.push(row);
    byPatient.set(row.patient_id ?? '', list);
  }
  for (const [patient, list] of byPatient) {
    const decision = patient
      ? deps.disclosure(await consentsOf(deps, patient), deps.party, DATA_CLASS, deps.today())
      : { permitted: false, reason: 'the response names no client' };
    if (decision.permitted) {
      passing.push(...list);
      consents.set(patient, 'consentId' in decision && decision.consentId ? [decision.consentId] : []);
    } else {
      await refuse(deps, list, `consent: ${decision.reason}`);
      result.blocked += list.length;
    }
  }
  return passing;
}

/** Settles rows consent stopped as `blocked`, and audits the refused disclosures in the same transaction. */
function refuse(deps: KantaRound, rows: OutboxRow[], reason: string): Promise<void> {
  return deps.store.transaction(async (tx) => {
    const settled = new Set(
      await settleBlocked(
        tx,
        deps.claim,
        rows.map((r) => r.id),
        reason,
      ),
    );
    const refused = rows.filter((r) => settled.has(r.id)).map((r) => exportOf(r, { refused: reason }));
    await auditTransfers(tx, deps, 'export', refused);
  });
}

/** Rows whose version the store no longer holds are dead letters; the rest go on. */
async function dropVanished(
  deps: KantaRound,
  rows: OutboxRow[],
  result: PushRoundResult,
): Promise<OutboxRow[]> {
  const present: OutboxRow[] = [];
  for (const row of rows) {
    const reason = vanishedVersion(row);
    if (!reason) {
      present.push(row);
      continue;
    }
    await settle(deps.store, deps.claim, [row.id], 'dead', {
      reason,
      outcome: outcome([issue('error', 'not-found', reason)]),
    });
    result.dead++;
  }
  return present;
}

/**
 * The batch entry of one row: a versioned update of the copy Kanta PHR holds (mapped, at a known
 * version), else a conditional create on the business identifier.
 */
function prepare(row: OutboxRow, phr: PhrPatient, opts: KantaOptions, mapping?: KantaMapping): Prepared {
  const qr = toKantaResponse(row.payload as QuestionnaireResponse, phr, opts);
  if (mapping?.remoteVersion) {
    return {
      row,
      phr: phr.remoteId,
      update: mapping,
      entry: {
        resource: { ...qr, id: mapping.remoteId },
        request: {
          method: 'PUT',
          url: `QuestionnaireResponse/${mapping.remoteId}`,
          ifMatch: weakEtag(mapping.remoteVersion),
        },
      },
    };
  }
  const ident = qr.identifier;
  return {
    row,
    phr: phr.remoteId,
    entry: {
      resource: qr,
      request: {
        method: 'POST',
        url: 'QuestionnaireResponse',
        ifNoneExist: identifierCriteria(ident?.system ?? KANTA.businessSystem, ident?.value ?? ''),
      },
    },
  };
}

/** The rows of a batch's answer, by what each entry's answer means for its row. */
interface Sorted {
  /** Remote copies to record (entries whose answer carries a FHIR id), with the local version each holds. */
  delivered: { localId: string; remote: Resource; localVersion?: string }[];
  /** Created, or updated at the version we expected. */
  written: string[];
  /** A conditional create that matched: the response is there already. */
  matched: string[];
  /** An update whose conditional create matched: sent again as a versioned update. */
  again: string[];
  /** An update of a response no longer there: the citizen deleted it. */
  gone: string[];
  conflicts: Prepared[];
  /** A conditional create that matched another person's response there. */
  foreign: Prepared[];
  /** A match whose owner could not be read there now: tried again later. */
  unchecked: { p: Prepared; err: Error }[];
  /** An entry's answer that stops the round (roundStop: our credentials refused), once what went is settled. */
  stop?: Error;
}

/**
 * Where an entry's answer says the response lives now — its body, else its Location and ETag (a
 * versioned update's answer may carry no body: then it is still the copy we updated) — or undefined
 * when it names no FHIR id.
 */
function answeredCopy(e: BundleEntry | undefined, status: number, updatedId?: string): Resource | undefined {
  try {
    const ref = refFromAnswer(entryAnswer(e, status), 'QuestionnaireResponse', updatedId);
    return {
      resourceType: 'QuestionnaireResponse',
      id: ref.id,
      meta: { versionId: ref.versionId },
    } as Resource;
  } catch {
    return undefined;
  }
}

/**
 * A conditional create's match is ours only when it is of the client's PHR Patient (ownership.ts):
 * another person's response is not delivered to, nor mapped (a later edit would go over it).
 */
async function sortMatch(
  deps: KantaRound,
  p: Prepared,
  e: BundleEntry | undefined,
  remote: Resource | undefined,
  sorted: Sorted,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    if ((await matchIsOf(deps, e, remote?.id, p.phr, signal)) !== false) return true;
    sorted.foreign.push(p);
  } catch (err) {
    sorted.unchecked.push({ p, err: err as Error });
  }
  return false;
}

async function sortAnswers(
  deps: KantaRound,
  prepared: Prepared[],
  answer: Bundle,
  result: PushRoundResult,
  signal?: AbortSignal,
) {
  const sorted: Sorted = {
    delivered: [],
    written: [],
    matched: [],
    again: [],
    gone: [],
    conflicts: [],
    foreign: [],
    unchecked: [],
  };
  for (const [i, p] of prepared.entries()) {
    const e = answer.entry?.[i];
    const status = Number(entryStatus(e?.response)?.slice(0, 3));
    if (status >= 200 && status < 300) {
      const remote = answeredCopy(e, status, p.update?.remoteId);
      if (!p.update && status !== 201 && !(await sortMatch(deps, p, e, remote, sorted, signal))) continue;
      // An update that found a copy there already: that copy may be older (once mapped, it is updated).
      const again = !p.update && status !== 201 && p.row.action === 'update' && !!remote?.meta?.versionId;
      if (remote) {
        const localVersion = again ? undefined : (p.row.version_id ?? undefined);
        sorted.delivered.push({ localId: p.row.resource_id, remote, localVersion });
      }
      if (again) sorted.again.push(p.row.id);
      else if (p.update || status === 201) sorted.written.push(p.row.id);
      else sorted.matched.push(p.row.id);
      continue;
    }
    if (status === 412 && p.update) {
      sorted.conflicts.push(p);
      continue;
    }
    if ((status === 404 || status === 410) && p.update) {
      sorted.gone.push(p.row.id);
      continue;
    }
    const stop = roundStop(entryError(p, e, status));
    if (stop) {
      sorted.stop ??= stop;
      continue;
    }
    await refusedEntry(deps, p.row, e?.response);
    result.dead++;
  }
  return sorted;
}

/** An entry's refusal as the error a request answered so would be (for roundStop). */
function entryError(p: Prepared, e: BundleEntry | undefined, status: number): RemoteHttpError {
  const { method = 'POST', url = 'QuestionnaireResponse' } = p.entry.request ?? {};
  return new RemoteHttpError(status, method, url, e?.response?.outcome, undefined);
}

/**
 * Each entry's answer settles its row: created, updated and already-there are done (with their
 * mapping and the disclosure's audit row, in one transaction), refusals are dead letters, and an
 * update that met another version on Kanta PHR is settled as a conflict. An answer that stops the
 * round (roundStop: our credentials refused, the circuit open) is thrown once what went is settled.
 */
async function settleEntries(
  deps: KantaRound,
  opts: KantaOptions,
  prepared: Prepared[],
  answer: Bundle,
  result: PushRoundResult,
  consents: Map<string, string[]>,
  signal?: AbortSignal,
) {
  const sorted = await sortAnswers(deps, prepared, answer, result, signal);
  const { delivered, written, matched, again, gone, conflicts, foreign, unchecked } = sorted;
  for (const p of foreign) await foreignMatch(deps, p.row);
  result.dead += foreign.length;
  let stop = sorted.stop;
  for (const { p, err } of unchecked) {
    const stops = roundStop(err);
    if (stops) stop ??= stops;
    else await failTransient(deps, [p.row], err, result);
  }
  const sent = prepared.filter((p) => written.includes(p.row.id) || matched.includes(p.row.id));
  // Counted by what each settle changed (the claim guard leaves a row another round holds now).
  const settled = await deps.store.transaction(async (tx) => {
    await recordMappings(tx, delivered);
    const done = [
      ...(await settle(tx, deps.claim, written, 'done')),
      ...(await settle(tx, deps.claim, matched, 'done', {
        reason: 'already on Kanta PHR (conditional create matched)',
      })),
      ...(await settle(tx, deps.claim, gone, 'done', { reason: DELETED_THERE })),
    ];
    const retrying = await settle(tx, deps.claim, again, 'pending', {
      reason: 'already on Kanta PHR (conditional create matched): sent again as a versioned update',
    });
    await auditTransfers(
      tx,
      deps,
      'export',
      sent.map(({ row }) => exportOf(row, { consents: consents.get(row.patient_id ?? '') })),
    );
    // `sync status` reads it for either kind of remote (settleDelivered sets it for a FHIR store).
    if (sent.length) await setState(tx, 'last_push_success', new Date().toISOString());
    return { done: done.length, retrying: retrying.length };
  });
  result.done += settled.done;
  result.retrying += settled.retrying;
  if (stop) throw stop;
  for (const p of conflicts) {
    const c = {
      row: p.row,
      sent: p.entry.resource as QuestionnaireResponse & { id: string },
      mapping: p.update as KantaMapping,
      consents: consents.get(p.row.patient_id ?? '') ?? [],
    };
    try {
      await settleKantaConflict(deps, opts, c, result, signal);
    } catch (err) {
      const stops = roundStop(err);
      if (stops) throw stops;
      // The version moved again, or Kanta PHR did not answer: the row is tried again later.
      await failTransient(deps, [p.row], err as Error, result);
    }
  }
}

/**
 * An entry Kanta PHR refused: a dead letter, and — the response reached Kanta PHR — a refused
 * disclosure in the audit log (codes and elements of its answer, never its diagnostics).
 */
function refusedEntry(deps: KantaRound, row: OutboxRow, answer: BundleEntryResponse | undefined) {
  const said = entryStatus(answer);
  const status = said ?? (answer ? 'no readable status' : 'no answer');
  const oo = answer?.outcome as OperationOutcome | undefined;
  return deps.store.transaction(async (tx) => {
    const settled = await settle(tx, deps.claim, [row.id], 'dead', {
      reason: `Kanta PHR refused the response (${status})`,
      outcome: oo,
    });
    const answered = said ? `HTTP ${said}` : 'no answer for the entry';
    const refused = `remote refused (${answered}): ${issueSummary(oo)}`;
    if (settled.length) await auditTransfers(tx, deps, 'export', [exportOf(row, { refused })]);
  });
}

/** Why a conditional create that matched another person's response on Kanta PHR is a dead letter. */
const FOREIGN_MATCH =
  "not sent: Kanta PHR holds another person's response under this business identifier (the conditional create matched it); nothing mapped";

/**
 * A dead letter for a response whose conditional create matched another person's response there:
 * nothing is mapped, and the audit log has the disclosure as refused (what we sent reached Kanta PHR,
 * which kept none of it).
 */
function foreignMatch(deps: KantaRound, row: OutboxRow) {
  deps.log.warn(
    { outbox: row.id, type: row.resource_type },
    "kanta push: a conditional create matched another person's response; not delivered",
  );
  return deps.store.transaction(async (tx) => {
    const settled = await settle(tx, deps.claim, [row.id], 'dead', {
      reason: FOREIGN_MATCH,
      outcome: outcome([issue('error', 'conflict', FOREIGN_MATCH)]),
    });
    if (settled.length) await auditTransfers(tx, deps, 'export', [exportOf(row, { refused: FOREIGN_MATCH })]);
  });
}

/** A dead letter for a response the SDK cannot read as a self-assessment: nothing of it is sent. */
async function unreadable(deps: KantaRound, row: OutboxRow, err: unknown, result: PushRoundResult) {
  const reason = unreadableReason(err);
  await settle(deps.store, deps.claim, [row.id], 'dead', {
    reason,
    outcome: outcome([issue('error', 'invalid', reason)]),
  });
  result.dead++;
}

/**
 * `rows` back to the queue to be tried again later (dead once their attempts are spent). Counted by
 * what the settle changed: a row of `rows` an earlier step of the round settled (or another round
 * holds now) is left as it is, and not counted again.
 */
async function failTransient(deps: KantaRound, rows: OutboxRow[], err: Error, result: PushRoundResult) {
  const give = rows.filter((r) => r.attempts >= deps.maxAttempts);
  const again = rows.filter((r) => r.attempts < deps.maxAttempts);
  const why = `transient: ${err.message}`;
  const dead = await settle(
    deps.store,
    deps.claim,
    give.map((r) => r.id),
    'dead',
    { reason: why },
  );
  result.dead += dead.length;
  for (const r of again) {
    const settled = await settle(deps.store, deps.claim, [r.id], 'pending', {
      reason: why,
      delayMs: deps.retryBaseMs * 2 ** Math.min(r.attempts - 1, 10),
    });
    result.retrying += settled.length;
  }
}

/**
 * Why Kanta PHR does not take a row, or undefined when it may go: another type (with a Kanta PHR
 * remote it is synced nowhere: a store has one remote), a delete, or a response the client did not
 * write or finish (notCitizensReason). A row whose version is gone here goes on (dropVanished).
 */
function notApplicable(r: OutboxRow): string | undefined {
  if (!KANTA_PUSH_TYPES.has(r.resource_type))
    return `${NOT_APPLICABLE}: Kanta PHR holds citizen-produced data; ${r.resource_type} is not synced to any remote (a store syncs with one remote, here Kanta PHR)`;
  if (r.action === 'delete')
    return `${NOT_APPLICABLE}: deletes stay local (the citizen or Omakanta deletes on Kanta PHR)`;
  // A response naming no client goes on: the consent gate blocks it (no consent can cover it).
  if (!r.payload || !r.patient_id) return undefined;
  return notCitizensReason(r.payload as QuestionnaireResponse, r.patient_id);
}

/**
 * Rows Kanta PHR does not take (notApplicable) are settled `done` with the reason; the rest go on.
 * Other types left unsynced are warned of, by type and count.
 */
async function settleNotApplicable(
  deps: KantaRound,
  rows: OutboxRow[],
  result: PushRoundResult,
): Promise<OutboxRow[]> {
  const byReason = new Map<string, string[]>();
  const unsynced: Record<string, number> = {};
  const going: OutboxRow[] = [];
  for (const r of rows) {
    const why = notApplicable(r);
    if (!why) {
      going.push(r);
      continue;
    }
    byReason.set(why, [...(byReason.get(why) ?? []), r.id]);
    if (!KANTA_PUSH_TYPES.has(r.resource_type))
      unsynced[r.resource_type] = (unsynced[r.resource_type] ?? 0) + 1;
  }
  for (const [why, ids] of byReason) await settle(deps.store, deps.claim, ids, 'done', { reason: why });
  if (Object.keys(unsynced).length)
    deps.log.warn(
      { unsynced },
      'kanta push: local writes of types Kanta PHR does not hold are synced to no remote (a store has one)',
    );
  result.done += rows.length - going.length;
  return going;
}

/** Why a change of a response deleted here afterwards is not sent. */
const DELETED_HERE =
  'not sent: the response was deleted here after this change (deletes stay local; Kanta PHR keeps what it holds)';

/**
 * Rows that would put on Kanta PHR what is no longer current here are settled without being sent:
 * a change of a response deleted here afterwards (sent, it would put a response gone here on Kanta
 * PHR, or change one there that the delete does not reach), and a change older than the local version
 * Kanta PHR holds (one stuck here while the citizen's version came down over it). The rest go on.
 */
async function dropUnsendable(
  deps: KantaRound,
  rows: OutboxRow[],
  mappings: Map<string, KantaMapping>,
  result: PushRoundResult,
): Promise<OutboxRow[]> {
  const later = await laterRowsOf(deps.store, rows);
  const deleted = rows.filter((r) => later.get(r.id)?.deleted);
  const stale = rows.filter(
    (r) => !deleted.includes(r) && isOlderThanSent(r, mappings.get(r.resource_id)?.localVersion),
  );
  for (const [unsent, reason] of [
    [deleted, DELETED_HERE],
    [stale, SUPERSEDED_BY_SENT],
  ] as const) {
    await settle(
      deps.store,
      deps.claim,
      unsent.map((r) => r.id),
      'done',
      { reason },
    );
  }
  result.done += deleted.length + stale.length;
  return rows.filter((r) => !deleted.includes(r) && !stale.includes(r));
}

/**
 * `rows` less those a Consent of their client marked while they were in flight: they go back to the
 * queue at once, unsent and without counting the attempt (consentReleased, the FHIR-store push's own
 * re-check), and the next round's gate decides on the new consent. Called right before anything of
 * the rows leaves.
 */
async function stillPermitted(round: Round, rows: OutboxRow[]): Promise<OutboxRow[]> {
  const released = await consentReleased(
    round,
    rows.map((r) => r.id),
  );
  return released.size ? rows.filter((r) => !released.has(r.id)) : rows;
}

/**
 * The batch entries of the rows the consent gate let through, client by client (prepareClient). After
 * each client the round's lease on the rows it still holds is renewed (keepLease): one slow client —
 * its PHR Patient retried under 503 + Retry-After — must not let the lease of the others run out, and
 * another round take and send them too; a lease already lost stops the round (LeaseLost).
 */
async function prepareAll(
  deps: KantaRound,
  opts: KantaOptions,
  round: Round,
  passing: OutboxRow[],
  mappings: Map<string, KantaMapping>,
): Promise<Prepared[]> {
  const byClient = new Map<string, OutboxRow[]>();
  for (const row of passing) {
    const patient = row.patient_id as string;
    byClient.set(patient, [...(byClient.get(patient) ?? []), row]);
  }
  const clients = [...byClient];
  const prepared: Prepared[] = [];
  for (const [k, [patient, rows]] of clients.entries()) {
    prepared.push(...(await prepareClient(deps, opts, round, patient, rows, mappings)));
    const held = [...prepared.map((p) => p.row), ...clients.slice(k + 1).flatMap(([, later]) => later)];
    await keepLease(round, held);
  }
  return prepared;
}

/**
 * One client's batch entries: its PHR Patient (created there first if it is new — right after its
 * rows' consent is checked again), then its responses; one the SDK cannot read is a dead letter. A
 * client whose PHR Patient cannot be had (clientFailed) holds back that client's rows only; an error
 * that stops the round is thrown on.
 */
async function prepareClient(
  deps: KantaRound,
  opts: KantaOptions,
  round: Round,
  patient: string,
  rows: OutboxRow[],
  mappings: Map<string, KantaMapping>,
): Promise<Prepared[]> {
  const { result, signal } = round;
  let going = rows;
  let phr: PhrPatient | undefined;
  try {
    phr = await ensurePhrPatient(
      deps,
      patient,
      signal,
      async () => {
        going = await stillPermitted(round, rows);
        return going.length > 0;
      },
      // Its retries are asked again: a withdrawal committed meanwhile stops the create.
      (attempt) => consentGuard(round, going, 1)(attempt),
    );
  } catch (err) {
    if (err instanceof ConsentChangedInFlight) {
      // The client's rows went back to the queue with it (one Consent marks them all); any other waits too.
      const left = going.filter((r) => !err.released.includes(r.id));
      await release(
        deps.store,
        deps.claim,
        left.map((r) => r.id),
        0,
        CONSENT_CHANGED_IN_FLIGHT,
      );
      result.waiting += left.length;
      return [];
    }
    await clientFailed(deps, going, err, result);
    return [];
  }
  if (!phr) return [];
  const prepared: Prepared[] = [];
  for (const row of going) {
    try {
      prepared.push(prepare(row, phr, opts, mappings.get(row.resource_id)));
    } catch (err) {
      await unreadable(deps, row, err, result);
    }
  }
  return prepared;
}

/**
 * One client's rows when its PHR Patient could not be had: an error that stops the round (roundStop)
 * is thrown on; a transient one sends these rows back to be tried again; any other makes them dead
 * letters. The other clients' rows go on either way.
 */
async function clientFailed(deps: KantaRound, rows: OutboxRow[], err: unknown, result: PushRoundResult) {
  if (roundStop(err)) throw err;
  if (isTransient(err)) {
    deps.log.warn(
      { err },
      "kanta push: a client's PHR Patient: transient failure, its rows go back to the queue",
    );
    await failTransient(deps, rows, err as Error, result);
    return;
  }
  result.dead += (await deadLetters(deps, rows, err as Error)).length;
}

/** `rows` as dead letters for `err` (its message, which names the request and status, never client data); the ids settled. */
function deadLetters(deps: KantaRound, rows: OutboxRow[], err: Error): Promise<string[]> {
  return settle(
    deps.store,
    deps.claim,
    rows.map((r) => r.id),
    'dead',
    { reason: err.message, outcome: outcome([issue('error', 'exception', err.message)]) },
  );
}

/** Gates `candidates` by consent and sends what may go as one batch Bundle; settles each entry by its answer. */
async function sendPermitted(
  deps: KantaRound,
  opts: KantaOptions,
  round: Round,
  candidates: OutboxRow[],
  mappings: Map<string, KantaMapping>,
): Promise<void> {
  const { result, signal } = round;
  const consents = new Map<string, string[]>();
  const passing = await gate(deps, candidates, result, consents);
  if (!passing.length) return;
  // Sent as the store's party only, its PHR Patients too; the first to leave records it (sendAs).
  await sendAs(round.ctx);
  const prepared = await prepareAll(deps, opts, round, passing, mappings);
  if (!prepared.length) return;
  // Only what the round still holds goes: a lost lease stops the round here, nothing sent (LeaseLost).
  await keepLease(
    round,
    prepared.map((p) => p.row),
  );
  // Written before they go: a pull meeting one of these before its answer is mapped knows it is ours.
  await recordOwnCreates(
    deps.store,
    prepared.flatMap((p) => {
      const key = p.update ? undefined : identifierKey(p.entry.resource as QuestionnaireResponse);
      return key ? [{ localId: p.row.resource_id, key }] : [];
    }),
  );
  // Right before the Bundle leaves: a consent changed since the gate keeps its client's rows here.
  const permitted = new Set(
    await stillPermitted(
      round,
      prepared.map((p) => p.row),
    ),
  );
  let going = prepared.filter((p) => permitted.has(p.row));
  while (going.length) {
    const rows = going.map((p) => p.row);
    let answer: Bundle;
    try {
      answer = await deps.remote.bundle(
        { resourceType: 'Bundle', type: 'batch', entry: going.map((p) => p.entry) },
        signal,
        // The first attempt leaves on the check just made; every retry is checked again.
        { beforeAttempt: consentGuard(round, rows, 1) },
      );
    } catch (err) {
      if (!(err instanceof ConsentChangedInFlight)) throw err;
      // A withdrawal committed while a retry waited: the batch goes again at once without those rows.
      going = going.filter((p) => !err.released.includes(p.row.id));
      continue;
    }
    await settleEntries(deps, opts, going, answer, result, consents, signal);
    return;
  }
}

/**
 * A stopped round: roundStop stopped it (the remote's circuit open, our credentials refused: no row is
 * to blame, and every request would meet the same), or it lost its lease (LeaseLost: another round may
 * hold its rows now). Every row it still holds goes back to the queue unsent — none dead, the attempt
 * not counted — until the breaker would try again (at once after a lost lease), as the FHIR-store
 * push's rows do. Refused credentials are thrown on with the round's result: the caller keeps them as
 * the status's last error (sync-auth-1).
 */
async function stopRound(
  deps: KantaRound,
  rows: OutboxRow[],
  result: PushRoundResult,
  stop: Error,
): Promise<PushRoundResult> {
  await release(
    deps.store,
    deps.claim,
    rows.map((r) => r.id),
    stop instanceof LeaseLost ? 0 : stoppedRoundDelay(deps.remote.config.breaker),
    stop.message,
  );
  result.waiting += rows.length - accountedRows(result);
  if (stop instanceof CredentialsRefused) {
    stop.result = result;
    throw stop;
  }
  return result;
}

/** Round numbers per worker context, for the rounds' claim ids. */
const roundsOf = new WeakMap<SyncContext, number>();

export async function kantaPushRound(
  ctx: SyncContext,
  opts: KantaOptions,
  signal?: AbortSignal,
): Promise<PushRoundResult> {
  const result = emptyResult();
  await reclaimAbandoned(ctx.store);
  const n = (roundsOf.get(ctx) ?? 0) + 1;
  roundsOf.set(ctx, n);
  const deps: KantaRound = { ...ctx, claim: roundClaimId(ctx.workerId, n) };
  const rows = await claim(deps.store, deps.claim, deps.batchSize, deps.leaseMs);
  result.claimed = rows.length;
  if (!rows.length) return result;
  const round: Round = { ctx, result, claim: deps.claim, leasedAt: performance.now() };
  if (signal) round.signal = signal;
  const present = await dropVanished(deps, await settleNotApplicable(deps, rows, result), result);
  const mappings = await mappingsOfLocal(
    deps.store,
    present.map((r) => r.resource_id),
  );
  const candidates = await dropUnsendable(deps, present, mappings, result);
  try {
    await sendPermitted(deps, opts, round, candidates, mappings);
  } catch (err) {
    // The store sent as another party: nothing went; its rows wait, none dead, and the caller is told.
    if (err instanceof OtherParty) {
      await release(
        deps.store,
        deps.claim,
        rows.map((r) => r.id),
        1_000,
        err.message,
      );
      throw err;
    }
    const stop = err instanceof LeaseLost ? err : roundStop(err);
    if (stop) return stopRound(deps, rows, result, stop);
    if (!isTransient(err)) {
      result.dead += (await deadLetters(deps, candidates, err as Error)).length;
      return result;
    }
    deps.log.warn({ err }, 'kanta push: transient failure, rows go back to the queue');
    await failTransient(deps, candidates, err as Error, result);
  }
  return result;
}
