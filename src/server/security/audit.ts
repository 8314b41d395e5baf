import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventEntity, Bundle } from '@medplum/fhirtypes';
import { canonical } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { parseDateRange } from '../../store/index.ts';
import { rows } from './schema.ts';

type Db = { query(sql: string, params?: unknown[]): Promise<unknown> };

/** What an access did, as one row of the audit log (rendered as a BALP-shaped AuditEvent). */
export interface AuditRecord {
  client: string;
  party?: string;
  /** FHIR restful-interaction code (`read`, `search-type`, `create`, `transaction`, …) or `operation`. */
  interaction: string;
  /** C, R, U, D or E. */
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  /** 0 success, 4 minor failure (refused, bad request), 8 serious failure. */
  outcome: '0' | '4' | '8';
  /** Why it was refused or failed; never client data. */
  detail?: string;
  /** `Type/id` of each resource touched (or the searched type alone). */
  entities: string[];
  /** `Patient/id` of each client whose data was touched. */
  patients: string[];
  /** `Consent/id` under which data went to a party. */
  consents?: string[];
  /** The search query as received (audit log only). */
  query?: string;
  requestId?: string;
}

interface Row {
  id: string;
  recorded: string;
  client: string;
  party: string | null;
  interaction: string;
  action: string;
  outcome: string;
  detail: string | null;
  entities: string[];
  entity_types: string[];
  patients: string[];
  consents: string[];
  query: string | null;
  request_id: string | null;
}

const COLUMNS =
  'id, recorded, client, party, interaction, action, outcome, detail, entities, entity_types, patients, consents, query, request_id';
const INSERT = `INSERT INTO security_audit (${COLUMNS})
  SELECT ${COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS x(id text, recorded timestamptz, client text,
    party text, interaction text, action text, outcome text, detail text, entities text[],
    entity_types text[], patients text[], consents text[], query text, request_id text)`;

function toRow(r: AuditRecord, recorded = new Date().toISOString()): Row {
  const types = new Set(r.entities.map((e) => e.split('/')[0] as string));
  return {
    id: randomUUID(),
    recorded,
    client: r.client,
    party: r.party ?? null,
    interaction: r.interaction,
    action: r.action,
    outcome: r.outcome,
    detail: r.detail ?? null,
    entities: r.entities,
    entity_types: [...types],
    patients: [...new Set(r.patients)],
    consents: r.consents ?? [],
    query: r.query ?? null,
    request_id: r.requestId ?? null,
  };
}

/** Writes audit rows with `db` now, e.g. inside the transaction of the write they record. */
export async function insertAudit(db: Db, records: AuditRecord[]): Promise<void> {
  if (!records.length) return;
  await db.query(INSERT, [JSON.stringify(records.map((r) => toRow(r)))]);
}

/**
 * Audit rows of reads and refusals, gathered for one event-loop turn and written in one statement.
 * `record` resolves once its row is stored, so a response can wait for its audit row.
 */
export class AuditWriter {
  private pending: { record: AuditRecord; done: (err?: unknown) => void }[] = [];
  private flushing = false;

  constructor(private readonly db: Db) {}

  record(record: AuditRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ record, done: (err) => (err ? reject(err) : resolve()) });
      if (this.pending.length === 1 && !this.flushing) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      try {
        await insertAudit(
          this.db,
          batch.map((b) => b.record),
        );
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err);
      }
    }
    this.flushing = false;
  }
}

const REST = {
  system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  code: 'rest',
  display: 'RESTful Operation',
};
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

/** One audit row as an AuditEvent in the shape of IHE Basic Audit Log Patterns. */
export function toAuditEvent(row: Row): AuditEvent {
  const entity: AuditEventEntity[] = [
    ...row.patients.map((reference) => ({
      what: { reference },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    })),
    ...row.entities
      .filter((e) => e.includes('/'))
      .map((reference) => ({
        what: { reference },
        type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
      })),
    ...row.consents.map((reference) => ({
      what: { reference },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
      description: 'consent under which the data was disclosed',
    })),
    ...(row.query !== null
      ? [
          {
            type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
            role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
            query: Buffer.from(row.query).toString('base64'),
            description: row.entity_types.join(','),
          },
        ]
      : []),
  ];
  return {
    resourceType: 'AuditEvent',
    id: row.id,
    type: REST,
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: row.interaction }],
    action: row.action as AuditEvent['action'],
    recorded: new Date(row.recorded).toISOString(),
    outcome: row.outcome as AuditEvent['outcome'],
    ...(row.detail ? { outcomeDesc: row.detail } : {}),
    agent: [
      {
        type: {
          coding: [
            {
              system: 'http://dicom.nema.org/resources/ontology/DCM',
              code: '110153',
              display: 'Source Role ID',
            },
          ],
        },
        who: { identifier: { system: 'urn:tyokyky:client', value: row.client } },
        requestor: true,
        ...(row.party
          ? { role: [{ coding: [{ system: `${canonical}/CodeSystem/consent-party`, code: row.party }] }] }
          : {}),
      },
      {
        type: {
          coding: [
            {
              system: 'http://dicom.nema.org/resources/ontology/DCM',
              code: '110152',
              display: 'Destination Role ID',
            },
          ],
        },
        who: { display: 'tyokyky-fhir facade' },
        requestor: false,
      },
    ],
    source: {
      observer: { display: 'tyokyky-fhir facade' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    ...(row.request_id
      ? { extension: [{ url: `${canonical}/StructureDefinition/request-id`, valueString: row.request_id }] }
      : {}),
    ...(entity.length ? { entity } : {}),
  };
}

const SEARCH_PARAMS = new Set(['patient', 'agent', 'date', 'entity-type', '_count']);
const DATE_PREFIX = /^(eq|ge|gt|le|lt)?(.+)$/;

/** Searches the audit log by patient, agent (client id), date and entity-type; newest first. */
export async function searchAudit(db: Db, base: string, query: Record<string, unknown>): Promise<Bundle> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  for (const [name, raw] of Object.entries(query)) {
    if (!SEARCH_PARAMS.has(name)) {
      throw new FhirError(
        400,
        issue('error', 'not-supported', `Unknown search parameter "${name}" for AuditEvent`, name),
      );
    }
    for (const value of ([] as unknown[]).concat(raw).map(String)) {
      if (name === 'patient')
        add((n) => `patients @> ARRAY[${n}::text]`, value.includes('/') ? value : `Patient/${value}`);
      else if (name === 'agent') add((n) => `client = ${n}`, value);
      else if (name === 'entity-type') add((n) => `entity_types @> ARRAY[${n}::text]`, value);
      else if (name === 'date') dateClause(value, add);
    }
  }
  const count = Math.min(1000, Math.max(1, Number(query._count ?? 50) || 50));
  const found = await rows<Row>(
    db,
    `SELECT ${COLUMNS} FROM security_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY recorded DESC, id LIMIT ${count}`,
    params,
  );
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link: [{ relation: 'self', url: `${base}/AuditEvent` }],
    entry: found.map((row) => ({
      fullUrl: `${base}/AuditEvent/${row.id}`,
      resource: toAuditEvent(row),
      search: { mode: 'match' as const },
    })),
  };
}

function dateClause(value: string, add: (sql: (n: string) => string, v: unknown) => void): void {
  const [, prefix = 'eq', text = ''] = DATE_PREFIX.exec(value) ?? [];
  const range = parseDateRange(text);
  if (!range) {
    throw new FhirError(
      400,
      issue('error', 'invalid', `Invalid date "${value}" for AuditEvent date`, 'date'),
    );
  }
  const low = range.low.toISOString();
  const high = range.high.toISOString();
  if (prefix === 'ge') add((n) => `recorded >= ${n}`, low);
  else if (prefix === 'gt') add((n) => `recorded >= ${n}`, high);
  else if (prefix === 'le') add((n) => `recorded < ${n}`, high);
  else if (prefix === 'lt') add((n) => `recorded < ${n}`, low);
  else {
    add((n) => `recorded >= ${n}`, low);
    add((n) => `recorded < ${n}`, high);
  }
}

/** One audit row by id as an AuditEvent (404 when absent). */
export async function readAudit(db: Db, id: string): Promise<AuditEvent> {
  const [row] = await rows<Row>(db, `SELECT ${COLUMNS} FROM security_audit WHERE id = $1`, [id]);
  if (!row) throw new FhirError(404, issue('error', 'not-found', `AuditEvent/${id} not found`));
  return toAuditEvent(row);
}
