/**
 * A client's disclosure log (*luovutusloki*), read off the audit log: every time the client's data
 * went — or was refused — to a receiving party, either through the API (a read or search by a client
 * registered as a party) or through the sync (an export to the remote's party). Uses of the data
 * by the service's own, non-party clients (*käyttöloki*) stay in the AuditEvent search.
 */
import { type StoredAuditRecord, sqlTimestamp } from '../../store/index.ts';
import { guardOf, succeeded } from './guard-context.ts';
import { rows } from './schema.ts';

type Db = { query(sql: string, params?: unknown[]): Promise<unknown> };

/** One disclosure of a client's data, or one refused. */
export interface Disclosure {
  /** When it was recorded (ISO instant). */
  when: string;
  /** The receiving party (`kela`, `other-health-care`, …). */
  party: string;
  /** Who received it: the remote's FHIR base URL (sync) or the API client's id. */
  recipient: string;
  channel: 'api' | 'sync';
  /** The FHIR interaction (`read`, `search-type`, `create`, `update`, …). */
  interaction: string;
  /** `Type/id` of what went (or was asked for), or the type searched. */
  resources: string[];
  /** `Consent/id` under which it went. */
  consents: string[];
  /** `unknown`: the sync sent it and had no answer; the remote may hold it. */
  outcome: 'disclosed' | 'refused' | 'unknown';
  /** Why it was refused, or why its outcome is unknown (a rule, never client data). */
  reason?: string;
}

/** Audit batches read at once. */
const BATCHES = 200;

/** Whose log it is: the client's Patient (`Patient/<id>`) and the client's own Consents (`Consent/<id>`). */
export interface DisclosureClient {
  patient: string;
  consents: ReadonlySet<string>;
}

/** Which disclosures to list: recorded in [from, until), to one party. */
export interface DisclosureFilter {
  from?: Date;
  until?: Date;
  party?: string;
}

/**
 * The disclosure log of `client`, newest first, as far as `filter` keeps it. A record that touched
 * other clients too (a party's search) names only the types it touched and only this client's
 * Consents: one client's log never names another client's resources or consents.
 */
export async function disclosureLog(
  db: Db,
  client: DisclosureClient,
  filter: DisclosureFilter = {},
): Promise<Disclosure[]> {
  const { patient } = client;
  const out: Disclosure[] = [];
  // A batch holds records from `earliest` to `recorded` (their own times): one whose records all fall
  // outside [from, until) is not read, and the log is read back to `from` only.
  const since = filter.from ? sqlTimestamp(filter.from) : null;
  const until = filter.until ? sqlTimestamp(filter.until) : null;
  let before: string | null = null;
  while (true) {
    const page: { id: string; events: string }[] = await rows<{ id: string; events: string }>(
      db,
      `SELECT id::text, events FROM security_audit
        WHERE patients @> ARRAY[$1::text] AND ($2::bigint IS NULL OR id < $2::bigint)
          AND ($3::timestamptz IS NULL OR recorded >= $3::timestamptz)
          AND ($4::timestamptz IS NULL OR earliest < $4::timestamptz)
        ORDER BY security_audit.id DESC LIMIT ${BATCHES}`,
      [patient, before, since, until],
    );
    for (const batch of page) {
      const records = (JSON.parse(batch.events) as StoredAuditRecord[]).reverse();
      for (const r of records) {
        const entry = r.patients.includes(patient) ? disclosureOf(r, client) : undefined;
        if (entry && kept(entry, filter)) out.push(entry);
      }
    }
    if (page.length < BATCHES) return out;
    before = page[page.length - 1]?.id ?? null;
  }
}

/**
 * The disclosure log as the caller of a request reads it through its guarded store (`caller`): a read
 * of the audit log, so recorded as reading /fhir/AuditEvent is (front.ts `serveAudit`) — a search of
 * AuditEvent naming the client, with the view's parameters (`query`) as its query — before it is
 * answered. A log that cannot be recorded is not answered.
 */
export async function auditedDisclosureLog(
  client: DisclosureClient,
  filter: DisclosureFilter,
  caller: object,
  query: string,
): Promise<Disclosure[]> {
  const g = guardOf(caller);
  const log = await disclosureLog(g.base, client, filter);
  await g.audit([succeeded(g, 'search-type', 'E', ['AuditEvent'], [client.patient], { query })]);
  return log;
}

/** Whether `filter` keeps `entry`, by the record's own time (its batch may span others). */
function kept(entry: Disclosure, { from, until, party }: DisclosureFilter): boolean {
  const when = Date.parse(entry.when);
  return (
    (!from || when >= from.getTime()) &&
    (!until || when < until.getTime()) &&
    (party === undefined || entry.party === party)
  );
}

/** What a party's API access discloses: reads (read, vread, history) and searches. */
const discloses = (r: StoredAuditRecord) => r.action === 'R' || r.interaction.startsWith('search');

/**
 * The record as a disclosure, or undefined when it is none: a sync export, or an API read or search
 * by a client registered as a party. A party's writes bring data in; they disclose nothing.
 */
function disclosureOf(r: StoredAuditRecord, client: DisclosureClient): Disclosure | undefined {
  const sync = r.transfer?.direction === 'export';
  if (!r.party || !(sync || (!r.transfer && discloses(r)))) return undefined;
  const shared = r.patients.some((p) => p !== client.patient);
  return {
    when: r.recorded,
    party: r.party,
    recipient: sync ? (r.transfer?.remote ?? '') : r.client,
    channel: sync ? 'sync' : 'api',
    interaction: r.interaction,
    resources: shared ? [...new Set(r.entities.map((e) => e.split('/')[0] as string))] : r.entities,
    consents: r.consents.filter((c) => client.consents.has(c)),
    outcome: r.outcome === '0' ? 'disclosed' : sync && r.outcome === '8' ? 'unknown' : 'refused',
    ...(r.outcome !== '0' && r.detail ? { reason: r.detail } : {}),
  };
}
