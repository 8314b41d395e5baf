/**
 * Consent before anything leaves, decided per client: a client whose Patient may not be disclosed
 * (no `identification` for this party) has nothing sent — not the Patient, nor anything that refers to
 * the client. Otherwise each row also needs its family's own data class.
 */
import type { Consent, Resource } from '@medplum/fhirtypes';
import { patientReferenceOf } from '../../shared/references.ts';
import { auditTransfers, exportOf } from '../audit.ts';
import { type ClientDisclosure, IDENTITY_CLASS, clientDisclosure } from '../consent-gate.ts';
import { timeSpent } from '../context.ts';
import { collectReferences } from '../references.ts';
import { type OutboxRow, mappingsForLocal, release, settle, settleBlocked } from '../repository.ts';
import type { Round } from './state.ts';

type Decision = ClientDisclosure;

/**
 * The rows consent lets through; the others are settled `blocked` with the reason (a restricted
 * version `done` unsent: it waits for no consent).
 */
export async function gateByConsent(round: Round, rows: OutboxRow[]): Promise<OutboxRow[]> {
  const { ctx } = round;
  const others = await timeSpent(ctx, 'database', () => otherClientRefs(round, rows));
  const patients = new Set([...others.values()].flat().map((o) => o.patient));
  for (const r of rows) if (r.action !== 'delete' && r.patient_id) patients.add(r.patient_id);
  const consents = await timeSpent(ctx, 'consent', () => consentsOf(round, [...patients]));
  const decide = decider(round, consents);
  const passing: OutboxRow[] = [];
  for (const row of rows) {
    const decision = row.action === 'delete' ? undefined : await decisionFor(ctx.families, row, decide);
    if (!decision || decision.permitted) {
      const held = await otherClientRefused(others.get(row.id) ?? [], decide);
      if (held) {
        await holdBack(round, row, held);
        continue;
      }
      round.consents ??= new Map();
      round.consents.set(row.id, decision?.consents ?? []);
      passing.push(row);
      continue;
    }
    if (decision.restricted) {
      await refuse(round, row, decision.reason, 'done');
      round.result.done++;
      continue;
    }
    if (await withdrawalToTell(round, row)) {
      round.consents ??= new Map();
      round.consents.set(row.id, []);
      passing.push(row);
      continue;
    }
    round.result.blocked++;
    ctx.metrics.pushed.inc({ type: row.resource_type, result: 'blocked' });
    ctx.log.info(
      { outbox: row.id, resource: `${row.resource_type}/${row.resource_id}`, reason: decision.reason },
      'sync: blocked by consent',
    );
    await refuse(round, row, decision.reason);
  }
  return passing;
}

/**
 * Settles a row the gate stopped, and audits the refused disclosure in the same transaction: `blocked`
 * (it waits for a consent), or `done` unsent (its version is restricted: no consent changes that).
 */
function refuse(
  round: Round,
  row: OutboxRow,
  reason: string,
  as: 'blocked' | 'done' = 'blocked',
): Promise<void> {
  const { ctx } = round;
  return timeSpent(ctx, 'database', () =>
    ctx.store.transaction(async (tx) => {
      const settled =
        as === 'blocked'
          ? await settleBlocked(tx, round.claim, [row.id], reason)
          : await settle(tx, round.claim, [row.id], 'done', { reason });
      if (settled.length) await auditTransfers(tx, ctx, 'export', [exportOf(row, { refused: reason })]);
    }),
  );
}

/**
 * A withdrawn Consent that the remote already holds goes although the client's identification no
 * longer may: the party that received data under it must be told of the withdrawal (DOMAIN.md), and
 * it already holds the client's Patient, so nothing new about the client is disclosed.
 */
async function withdrawalToTell(round: Round, row: OutboxRow): Promise<boolean> {
  if (row.resource_type !== 'Consent' || row.action === 'delete') return false;
  const status = (row.payload as Consent).status;
  if (status !== 'inactive' && status !== 'rejected') return false;
  const key = `Consent/${row.resource_id}`;
  const mapped = await timeSpent(round.ctx, 'database', () => mappingsForLocal(round.ctx.store, [key]));
  return mapped.has(key);
}

/** A reference to data of a client other than the row's own: the reference, and that client's local Patient id. */
interface OtherClientRef {
  ref: string;
  patient: string;
}

/**
 * Per row, what it refers to of clients other than its own: their Patient (e.g. a CareTeam member),
 * or any resource of theirs (e.g. a goal addressing another client's score).
 */
async function otherClientRefs(round: Round, rows: OutboxRow[]): Promise<Map<string, OtherClientRef[]>> {
  const refs = new Map(
    rows.map((r) => [r.id, r.action === 'delete' ? [] : [...collectReferences(r.payload)]]),
  );
  const owners = await ownersOf(round, rows, [...new Set([...refs.values()].flat())]);
  const out = new Map<string, OtherClientRef[]>();
  for (const row of rows) {
    const theirs = (refs.get(row.id) ?? []).flatMap((ref) => {
      const patient = owners.get(ref);
      return patient && patient !== row.patient_id ? [{ ref, patient }] : [];
    });
    out.set(row.id, theirs);
  }
  return out;
}

/**
 * The client (local Patient id) each referenced resource belongs to, by the rule its own outbox rows
 * are given theirs (patientReferenceOf): a Patient itself; a resource of a family as queued in this
 * batch, else as read here (all at once: the store coalesces concurrent reads). Directory resources
 * and resources not found belong to no client.
 */
async function ownersOf(round: Round, rows: OutboxRow[], refs: string[]): Promise<Map<string, string>> {
  const { store, families } = round.ctx;
  const queued = new Map(
    rows
      .filter((r) => r.action !== 'delete' && r.payload)
      .map((r) => [`${r.resource_type}/${r.resource_id}`, r]),
  );
  const resources = await Promise.all(
    refs.map((ref) => {
      const [type, id] = [ref.slice(0, ref.indexOf('/')), ref.slice(ref.indexOf('/') + 1)];
      if (type === 'Patient') return { resourceType: type, id };
      if (!families[type]) return undefined;
      return queued.get(ref)?.payload ?? store.read(type, id).catch(() => undefined);
    }),
  );
  const out = new Map<string, string>();
  refs.forEach((ref, i) => {
    const resource = resources[i];
    const patient = resource && patientReferenceOf(resource)?.slice('Patient/'.length);
    if (patient) out.set(ref, patient);
  });
  return out;
}

/**
 * Why a reference to another client's data may not go (that client's identification is not disclosed
 * to the party), or undefined. Held, not blocked: the row goes once the other client's consent
 * permits, and no consent change of the row's own client is needed for that.
 */
async function otherClientRefused(
  others: OtherClientRef[],
  decide: (patient: string, dataClass: string) => Promise<Decision>,
): Promise<string | undefined> {
  for (const { ref, patient } of others) {
    const identity = await decide(patient, IDENTITY_CLASS);
    if (identity.permitted) continue;
    const whose = ref === `Patient/${patient}` ? 'another client' : `of another client (Patient/${patient})`;
    return `held: refers to ${ref}, ${whose} — ${identity.reason}`;
  }
  return undefined;
}

async function holdBack(round: Round, row: OutboxRow, reason: string): Promise<void> {
  const { ctx } = round;
  round.result.held++;
  ctx.metrics.pushed.inc({ type: row.resource_type, result: 'held' });
  await timeSpent(ctx, 'database', () =>
    release(ctx.store, round.claim, [row.id], ctx.heldRecheckMs, reason, 'held'),
  );
}

async function decisionFor(
  families: Round['ctx']['families'],
  row: OutboxRow,
  decide: (patient: string, dataClass: string) => Promise<Decision>,
): Promise<Decision | undefined> {
  const family = families[row.resource_type];
  const patient = row.patient_id;
  if (!patient) {
    // Directory and definitional resources (organisations, questionnaires…) are nobody's client data.
    if (!family) return undefined;
    return {
      permitted: false,
      reason: `${row.resource_type} names no client as Patient/<id> of this store (patient or subject), so no consent can cover its disclosure`,
      consents: [],
    };
  }
  // A row whose version the store no longer holds has no payload (it becomes a dead letter later).
  const resource = (row.payload ?? { resourceType: row.resource_type }) as Resource;
  return clientDisclosure((dataClass) => decide(patient, dataClass), resource, family?.dataClass ?? null);
}

/** How many clients one Consent search asks for (an OR of `patient` values). */
const CLIENTS_PER_SEARCH = 50;

/** The Consents of these clients, by client, in a few searches (all pages). */
async function consentsOf(round: Round, patients: string[]): Promise<Map<string, Consent[]>> {
  const out = new Map<string, Consent[]>(patients.map((p) => [p, []]));
  for (let i = 0; i < patients.length; i += CLIENTS_PER_SEARCH) {
    const chunk = patients.slice(i, i + CLIENTS_PER_SEARCH);
    const params: Record<string, string> = {
      patient: chunk.map((p) => `Patient/${p}`).join(','),
      _count: '1000',
    };
    while (true) {
      const page = await round.ctx.store.search('Consent', params);
      for (const c of page.resources as Consent[]) {
        out.get(patientReferenceOf(c)?.slice('Patient/'.length) ?? '')?.push(c);
      }
      if (!page.nextCursor) break;
      params._cursor = page.nextCursor;
    }
  }
  return out;
}

/**
 * Decisions of this round over the clients' consents read up front, each (client, data class) decided
 * once: a client's rows share them, and a round holds whole clients.
 */
function decider(round: Round, consents: Map<string, Consent[]>) {
  const { ctx } = round;
  const today = ctx.today();
  const decided = new Map<string, Decision>();
  return async (patient: string, dataClass: string): Promise<Decision> => {
    const key = `${patient}\u0000${dataClass}`;
    const known = decided.get(key);
    if (known) return known;
    const d = ctx.disclosure(consents.get(patient) ?? [], ctx.party, dataClass, today);
    const decision = {
      permitted: d.permitted,
      reason: `not disclosed: ${dataClass} to ${ctx.party} on ${today} — ${d.reason}`,
      consents: d.permitted && d.consentId ? [d.consentId] : [],
    };
    decided.set(key, decision);
    return decision;
  };
}
