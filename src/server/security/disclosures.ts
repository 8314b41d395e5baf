/**
 * A client's disclosure log (*luovutusloki*), read off the audit log: every time the client's data
 * went — or was refused — to a receiving party, either through the API (a read or search by a client
 * registered as a party) or through the sync (an export to the remote's party). Uses of the data
 * by the service's own, non-party clients (*käyttöloki*) stay in the AuditEvent search.
 */
import type { StoredAuditRecord } from '../../store/index.ts';
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
  outcome: 'disclosed' | 'refused';
  /** Why it was refused (a rule, never client data). */
  reason?: string;
}

/** Audit batches read at once; a client's log is read to its start. */
const BATCHES = 200;

/** The disclosure log of the client whose Patient is `patient` (`Patient/<id>`), newest first. */
export async function disclosureLog(db: Db, patient: string): Promise<Disclosure[]> {
  const out: Disclosure[] = [];
  let before: string | undefined;
  while (true) {
    const page = await rows<{ id: string; events: string }>(
      db,
      `SELECT id::text, events FROM security_audit
        WHERE patients @> ARRAY[$1::text] ${before ? 'AND id < $2' : ''}
        ORDER BY id DESC LIMIT ${BATCHES}`,
      before ? [patient, before] : [patient],
    );
    for (const batch of page) {
      const records = (JSON.parse(batch.events) as StoredAuditRecord[]).reverse();
      for (const r of records) {
        const entry = r.patients.includes(patient) ? disclosureOf(r) : undefined;
        if (entry) out.push(entry);
      }
    }
    if (page.length < BATCHES) return out;
    before = page[page.length - 1]?.id;
  }
}

/**
 * The record as a disclosure, or undefined when it is none: a sync export, or an API read or search
 * by a client registered as a party. A party's writes bring data in; they disclose nothing.
 */
function disclosureOf(r: StoredAuditRecord): Disclosure | undefined {
  const sync = r.transfer?.direction === 'export';
  if (!r.party || !(sync || (!r.transfer && r.action === 'R'))) return undefined;
  return {
    when: r.recorded,
    party: r.party,
    recipient: sync ? (r.transfer?.remote ?? '') : r.client,
    channel: sync ? 'sync' : 'api',
    interaction: r.interaction,
    resources: r.entities,
    consents: r.consents,
    outcome: r.outcome === '0' ? 'disclosed' : 'refused',
    ...(r.outcome !== '0' && r.detail ? { reason: r.detail } : {}),
  };
}
