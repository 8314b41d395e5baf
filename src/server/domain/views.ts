import type { Request } from 'express';
import { finnishDay, responsibleWorkersOn } from '../../domain/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { dateRangeParams, finnishDateRangeInstants } from '../http/date-range.ts';
import type { FacadeStore } from '../ports.ts';
import type { Disclosure, DisclosureClient, DisclosureFilter } from '../security/index.ts';
import { currentTeam, findClient, newestOf, ofPatient } from './client-data.ts';
import { ReadBack } from './read-back.ts';

/** What a view needs besides the store: the security layer's disclosure log, when there is one. */
export interface ViewOptions {
  /**
   * `client`'s disclosure log as `filter` keeps it, read for the caller whose store is `caller` (the
   * read is audited as the caller's, with the view's parameters, `query`, as its query).
   */
  disclosureLog?: (
    client: DisclosureClient,
    filter: DisclosureFilter,
    caller: FacadeStore,
    query: string,
  ) => Promise<Disclosure[]>;
}

/** A GET view of one client: its answer, from the caller's store, and the query parameters it takes. */
export interface ClientView {
  answer: (
    store: FacadeStore,
    clientId: string,
    opts: ViewOptions,
    query: Request['query'],
  ) => Promise<object>;
  params: readonly string[];
  /** The view's name in an error. */
  what: string;
}

/**
 * GET /api/clients/{clientId}/<view> → how it is answered. The views read stored data back (ReadBack):
 * no domain input validation, plain references resolved through the caller's store.
 */
export const CLIENT_VIEWS: Record<string, ClientView> = {
  plan: { answer: planView, params: [], what: 'the plan view' },
  'responsible-worker': { answer: responsibleWorkerView, params: [], what: 'the responsible-worker view' },
  consents: { answer: consentsView, params: [], what: 'the consents view' },
  disclosures: { answer: disclosuresView, params: ['start', 'end', 'party'], what: 'the disclosure log' },
};

/**
 * `{ plan }`: the client's current active support plan, with its goals (and `warnings` naming what of
 * the stored resources the domain object leaves out).
 */
async function planView(store: FacadeStore, clientId: string): Promise<object> {
  const patient = await findClient(store, clientId);
  const plan = await newestOf(store, patient, 'CarePlan', 'active');
  if (!plan) throw FhirError.notFound('The client has no active plan');
  const readBack = new ReadBack(store, [patient]);
  return readBack.answer({ plan: await readBack.domainOf(plan) });
}

/**
 * `responsibleWorkers`: who is responsible today (a Finnish day) — one, or a pair sharing the role;
 * not one whose period, after a handover dated ahead, has not begun —; `responsibleWorker`: the first
 * of them. Once the relationship has ended there is none, and `ended` says since when.
 */
async function responsibleWorkerView(store: FacadeStore, clientId: string): Promise<object> {
  const team = (await currentTeam(store, clientId, { ended: true }))?.team;
  if (!team) throw FhirError.notFound('The client has no responsible-worker team');
  const workers = team.ended === undefined ? responsibleWorkersOn(team, finnishDay()) : [];
  return {
    responsibleWorker: workers[0] ?? null,
    responsibleWorkers: workers,
    ...(team.ended === undefined ? {} : { ended: team.ended }),
    team,
  };
}

/** `{ consents }`: the client's active consents (with `warnings`, as the plan view). */
async function consentsView(store: FacadeStore, clientId: string): Promise<object> {
  const patient = await findClient(store, clientId);
  const consents = await ofPatient(store, patient, 'Consent', { status: 'active', _count: '1000' });
  const readBack = new ReadBack(store, [patient]);
  return readBack.answer({ consents: await Promise.all(consents.map((c) => readBack.domainOf(c))) });
}

/**
 * The client's disclosure log (luovutusloki): who received the client's data, when, under which
 * consent, and what was refused; `start`/`end` (dates) and `party` narrow it. Needs the audit scope
 * besides the domain API's (security/access.ts).
 */
async function disclosuresView(
  store: FacadeStore,
  clientId: string,
  opts: ViewOptions,
  query: Request['query'],
) {
  const log = opts.disclosureLog;
  if (!log)
    throw new FhirError(
      404,
      issue('error', 'not-supported', 'This facade runs without its security layer: it keeps no audit log'),
    );
  const filter = { ...finnishDateRangeInstants(dateRangeParams(query)), ...partyParam(query.party) };
  const patient = await findClient(store, clientId);
  const consents = await ofPatient(store, patient, 'Consent', { _count: '1000' });
  const own = { patient: `Patient/${patient.id}`, consents: new Set(consents.map((c) => `Consent/${c.id}`)) };
  return { client: clientId, disclosures: await log(own, filter, store, queryText(query)) };
}

/** The view's parameters as a query string (each one given once: the view has refused others). */
function queryText(query: Request['query']): string {
  const text = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (typeof value === 'string') text.append(name, value);
  return text.toString();
}

/** `party`: one receiving party's code, given at most once. */
function partyParam(value: unknown): { party?: string } {
  if (value === undefined) return {};
  if (typeof value !== 'string' || !value)
    throw FhirError.badRequest('party must be one receiving party, such as kela', 'party');
  return { party: value };
}
