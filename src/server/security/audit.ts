import type { AuditEvent, AuditEventEntity, Bundle, BundleEntry } from '@medplum/fhirtypes';
import { canonical } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import {
  type AuditRecord,
  type StoredAuditRecord,
  assertSearchText,
  auditEntityType,
  dateSearchMatches,
  insertAudit,
  instantCondition,
  isFormatParameter,
  lastValue,
  pageSize,
  parseDateSearchValue,
  referenceUnderBase,
  splitValues,
  tokenAlternatives,
  unknownParameter,
} from '../../store/index.ts';
import { ignoredParametersEntryJson } from '../fhir/interactions.ts';
import { withQuery } from '../http/query-params.ts';
import { rows } from './schema.ts';
import { afterTwoTurns } from './turns.ts';

type Db = { query(sql: string, params?: unknown[]): Promise<unknown> };

export { type AuditRecord, insertAudit } from '../../store/index.ts';

/** One stored audit record with its id and the types it touched (what the AuditEvent is built from). */
interface Row extends StoredAuditRecord {
  id: string;
  entity_types: string[];
}

function fromStored(batch: string, index: number, e: StoredAuditRecord): Row {
  return { ...e, id: `${batch}-${index}`, entity_types: [...new Set(e.entities.map(auditEntityType))] };
}

/**
 * Audit rows of reads and refusals, gathered for two turns of the event loop (`afterTwoTurns`) and
 * written in one statement. `record` resolves once its row is committed, so a response can wait for
 * its audit row. Up to `concurrency` batches are written at once (on PostgreSQL their commits share
 * the WAL flushes; PGlite, one connection, uses one).
 */
export class AuditWriter {
  private pending: { record: AuditRecord; done: (err?: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idle: Array<() => void> = [];
  private readonly drainNow = () => this.drain();

  constructor(
    private readonly db: Db,
    private readonly concurrency = 1,
  ) {}

  record(record: AuditRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ record, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.scheduled && this.inFlight < this.concurrency) {
        this.scheduled = true;
        afterTwoTurns(this.drainNow);
      }
    });
  }

  /**
   * Resolves once every record handed over so far is written or has failed: a closing server waits
   * for it before closing the store (a failed request is audited after its answer has gone).
   */
  settled(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private isIdle(): boolean {
    return !this.pending.length && !this.inFlight && !this.scheduled;
  }

  private drain(): void {
    this.scheduled = false;
    while (this.pending.length && this.inFlight < this.concurrency) {
      const batch = this.pending;
      this.pending = [];
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        if (this.pending.length && !this.scheduled) this.drain();
        if (this.isIdle()) for (const resolve of this.idle.splice(0)) resolve();
      });
    }
  }

  private async write(batch: AuditWriter['pending']): Promise<void> {
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
}

const REST = {
  system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  code: 'rest',
  display: 'RESTful Operation',
};
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
/** A sync transfer: data sent to a remote (a disclosure), or a remote's data written here. */
const TRANSFER = {
  export: { system: DCM, code: '110106', display: 'Export' },
  import: { system: DCM, code: '110107', display: 'Import' },
};
const SOURCE_ROLE = { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] };
const DESTINATION_ROLE = { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] };
const FACADE = { display: 'tyokyky-fhir facade' };
/**
 * The system of the values of each token parameter of the AuditEvent search: a client id is the value
 * of `AuditEvent.agent.who.identifier` in urn:tyokyky:client, a resource type a code of R4's
 * resource-types.
 */
const AUDIT_TOKEN_SYSTEMS = {
  agent: 'urn:tyokyky:client',
  'entity-type': 'http://hl7.org/fhir/resource-types',
} as const;

/**
 * Who: the requesting client (with its party) and this facade; in a sync export this facade's sync is
 * the source and the remote (the receiving party) the destination, in an import the other way round.
 */
function agentsOf(row: Row): AuditEvent['agent'] {
  const role = (party: string | null) =>
    party ? { role: [{ coding: [{ system: `${canonical}/CodeSystem/consent-party`, code: party }] }] } : {};
  const client = { identifier: { system: AUDIT_TOKEN_SYSTEMS.agent, value: row.client } };
  if (row.transfer) {
    const remote = {
      who: { display: row.transfer.remote },
      network: { address: row.transfer.remote, type: '5' as const },
    };
    const us = { who: client, requestor: true };
    return row.transfer.direction === 'export'
      ? [
          { type: SOURCE_ROLE, ...us },
          { type: DESTINATION_ROLE, ...remote, ...role(row.party), requestor: false },
        ]
      : [
          { type: SOURCE_ROLE, ...remote, ...role(row.party), requestor: false },
          { type: DESTINATION_ROLE, ...us },
        ];
  }
  return [
    { type: SOURCE_ROLE, who: client, requestor: true, ...role(row.party) },
    { type: DESTINATION_ROLE, who: FACADE, requestor: false },
  ];
}

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
    type: row.transfer ? TRANSFER[row.transfer.direction] : REST,
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: row.interaction }],
    action: row.action as AuditEvent['action'],
    recorded: new Date(row.recorded).toISOString(),
    outcome: row.outcome as AuditEvent['outcome'],
    ...(row.detail ? { outcomeDesc: row.detail } : {}),
    agent: agentsOf(row),
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

/** What each AuditEvent search parameter matches on a record (documented in capability.ts, docs/security.md). */
const AUDIT_SEARCH_PARAMETERS = ['patient', 'agent', 'date', 'entity-type'] as const;
type AuditSearchParameter = (typeof AUDIT_SEARCH_PARAMETERS)[number];
/** The page size without `_count` (at most a search's, 1000). */
const AUDIT_PAGE = 50;

type Filter = (e: Row) => boolean;

/** An AuditEvent search, parsed: what narrows the batches in SQL, what matches each record, the paging. */
export interface AuditSearch {
  /** SQL conditions on `security_audit` (the batches that may hold a match) and their values. */
  where: string[];
  params: unknown[];
  /** Each record must pass every one. */
  filters: Filter[];
  count: number;
  after?: LogPlace;
  /** Every patient the search names, as a relative reference (for the search's own audit record). */
  patients: string[];
  /** Parameters ignored under `Prefer: handling=lenient`. */
  ignored: string[];
  /** The query its links repeat: the parameters searched by, `_count` as used, no `_cursor`. */
  linkQuery: URLSearchParams;
}

/**
 * An AuditEvent search's parameters, read by the rules of every search (src/store/search.ts): a comma
 * separates alternatives (OR), a repeated parameter must match each time (AND); `patient` is a
 * reference (an id alone names a Patient, an absolute URL under `base` the relative reference it ends
 * in), `agent` the client id and `entity-type` a resource type (tokens: `code`, `system|code` and
 * `system|` in the parameter's system, `AUDIT_TOKEN_SYSTEMS`, another system a 400; `|code`, a code
 * without a system, matches nothing), `date` the record's time with any of R4's prefixes; `_count` and `_cursor` page, the format parameters pass. Any other parameter is
 * a 400 naming it, or ignored when `lenient`.
 */
export function parseAuditSearch(
  base: string,
  query: Record<string, unknown>,
  opts: { lenient?: boolean } = {},
): AuditSearch {
  const s: AuditSearch = {
    where: [],
    params: [],
    filters: [],
    count: AUDIT_PAGE,
    patients: [],
    ignored: [],
    linkQuery: new URLSearchParams(),
  };
  const bind = (value: unknown) => {
    s.params.push(value);
    return `$${s.params.length}`;
  };
  const links: Array<[string, string]> = [];
  for (const [key, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    const values = ([] as unknown[]).concat(raw);
    assertSearchText(key, values);
    if (key === '_count') {
      s.count = pageSize(lastValue(values), key, { fallback: AUDIT_PAGE });
      links.push([key, String(s.count)]);
      continue;
    }
    if (key === '_cursor') {
      s.after = cursorOf(lastValue(values));
      continue;
    }
    if (!isFormatParameter(key)) {
      if (!(AUDIT_SEARCH_PARAMETERS as readonly string[]).includes(key)) {
        const supported = [...AUDIT_SEARCH_PARAMETERS, '_count'].join(', ');
        const text = `Unknown search parameter "${key}" for AuditEvent (supported: ${supported})`;
        unknownParameter(key, text, opts.lenient, s.ignored);
        continue;
      }
      for (const value of values) matchOne(s, key as AuditSearchParameter, value, base, bind);
    }
    for (const value of values) links.push([key, value]);
  }
  s.linkQuery = new URLSearchParams(links);
  return s;
}

/** One value of an AuditEvent search parameter (its alternatives OR-ed) into the search. */
function matchOne(
  s: AuditSearch,
  key: AuditSearchParameter,
  value: string,
  base: string,
  bind: (v: unknown) => string,
): void {
  const alternatives = splitValues(key, value);
  if (key === 'date') {
    const dates = alternatives.map((one) => parseDateSearchValue(key, one));
    // A batch holds records from `earliest` to `recorded` (their own times): it is read only when some
    // of them may fall in the range; each record is then matched on its own time.
    const ors = dates.map((d) => instantCondition('earliest', 'recorded', d, bind));
    s.where.push(ors.length === 1 ? (ors[0] as string) : `(${ors.join(' OR ')})`);
    s.filters.push((e) => dates.some((d) => dateSearchMatches(d, e.recorded)));
    return;
  }
  if (key === 'patient') {
    const refs = alternatives.map((one) => {
      const ref = referenceUnderBase(one, base);
      return ref.includes('/') ? ref : `Patient/${ref}`;
    });
    s.patients.push(...refs.filter((r) => !s.patients.includes(r)));
    s.where.push(`patients && ${bind(refs)}::text[]`);
    s.filters.push((e) => refs.some((r) => e.patients.includes(r)));
    return;
  }
  // A token, read as every token search reads one (system|code, code, |code, system|).
  const system = AUDIT_TOKEN_SYSTEMS[key];
  const codes: string[] = [];
  let anyCode = false;
  for (const one of tokenAlternatives(key, value)) {
    if (one.system !== undefined && one.system !== '' && one.system !== system)
      throw new FhirError(
        400,
        issue('error', 'invalid', `Invalid value for '${key}': its values have the system ${system}`, key),
      );
    // |code names a code without a system, which none here is: it matches nothing.
    if (one.system === '') continue;
    if (one.value === undefined) anyCode = true;
    else codes.push(one.value);
  }
  const column = key === 'agent' ? 'clients' : 'entity_types';
  const valuesOf = (e: Row) => (key === 'agent' ? [e.client] : e.entity_types);
  if (anyCode) {
    s.filters.push((e) => valuesOf(e).length > 0);
    return;
  }
  s.where.push(`${column} && ${bind(codes)}::text[]`);
  s.filters.push((e) => valuesOf(e).some((v) => codes.includes(v)));
}

/** Searches the audit log (`parseAuditSearch`), newest first. */
export async function searchAudit(
  db: Db,
  base: string,
  query: Record<string, unknown>,
  opts: { lenient?: boolean } = {},
): Promise<Bundle> {
  return runAuditSearch(db, base, parseAuditSearch(base, query, opts));
}

/**
 * A parsed AuditEvent search run: batches are narrowed in SQL (patient, client and type indexes, time),
 * each record is matched exactly here; newest first, with a next link while older ones match.
 */
export async function runAuditSearch(db: Db, base: string, s: AuditSearch): Promise<Bundle> {
  const { count } = s;
  // One more than a page, to know whether a next page follows (_count=0: none asked for, none read).
  const found = count ? await newestAudit(db, s.where, s.params, s.filters, count + 1, s.after) : [];
  const next = found.length > count ? found[count - 1]?.id : undefined;
  const url = (cursor?: string) => {
    const params = new URLSearchParams(s.linkQuery);
    if (cursor) params.set('_cursor', cursor);
    return withQuery(`${base}/AuditEvent`, params);
  };
  const entry: BundleEntry[] = found.slice(0, count).map((row) => ({
    fullUrl: `${base}/AuditEvent/${row.id}`,
    resource: toAuditEvent(row),
    search: { mode: 'match' as const },
  }));
  if (s.ignored.length)
    entry.push(JSON.parse(ignoredParametersEntryJson('AuditEvent', s.ignored)) as BundleEntry);
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link: [{ relation: 'self', url: url() }, ...(next ? [{ relation: 'next', url: url(next) }] : [])],
    // No empty `entry` array when nothing matched (FHIR JSON has no empty arrays).
    ...(entry.length ? { entry } : {}),
  };
}

/** An audit event's place in the log: its batch (the row id) and its index in the batch. */
interface LogPlace {
  batch: bigint;
  index: number;
}

/** An AuditEvent id, `<batch>-<index>`, as a place in the log; undefined when it is none. */
function placeOf(id: string): LogPlace | undefined {
  const m = /^(\d{1,18})-(\d{1,6})$/.exec(id);
  return m ? { batch: BigInt(m[1] as string), index: Number(m[2]) } : undefined;
}

/** Where a page goes on from: `_cursor`, the id of the last event of the page before. */
function cursorOf(value: unknown): LogPlace | undefined {
  if (value === undefined) return undefined;
  const place = typeof value === 'string' ? placeOf(value) : undefined;
  if (!place)
    throw new FhirError(
      400,
      issue('error', 'invalid', '_cursor must be the id of an AuditEvent of the page before', '_cursor'),
    );
  return place;
}

/**
 * Up to `limit` events matching `where` (SQL, by batch) and `filters` (each event), the newest first,
 * older than `after` when given. Batches are read newest first, a hundred at a time.
 */
async function newestAudit(
  db: Db,
  where: string[],
  params: unknown[],
  filters: Filter[],
  limit: number,
  after: LogPlace | undefined,
): Promise<Row[]> {
  const found: Row[] = [];
  // Batch ids are bigint: compared and ordered as numbers, never as their text.
  let before = after ? after.batch + 1n : undefined;
  while (found.length < limit) {
    const page = await rows<{ id: string; events: string }>(
      db,
      `SELECT id::text, events FROM security_audit
       WHERE ${[...where, ...(before !== undefined ? [`id < ${before}`] : [])].join(' AND ') || 'true'}
       ORDER BY security_audit.id DESC LIMIT 100`,
      params,
    );
    for (const batch of page) {
      const events = (JSON.parse(batch.events) as StoredAuditRecord[])
        .map((e, i) => fromStored(batch.id, i, e))
        .filter((_, i) => !after || BigInt(batch.id) !== after.batch || i < after.index)
        .reverse();
      found.push(...events.filter((e) => filters.every((f) => f(e))));
    }
    if (page.length < 100) break;
    before = BigInt(page[page.length - 1]?.id as string);
  }
  return found.slice(0, limit);
}

/** One audit record by id (`<batch>-<index>`) as an AuditEvent (404 when absent). */
export async function readAudit(db: Db, id: string): Promise<AuditEvent> {
  const place = placeOf(id);
  const [row] = place
    ? await rows<{ events: string }>(db, 'SELECT events FROM security_audit WHERE id = $1', [
        String(place.batch),
      ])
    : [];
  const stored = row && place ? (JSON.parse(row.events) as StoredAuditRecord[])[place.index] : undefined;
  if (!stored || !place) throw new FhirError(404, issue('error', 'not-found', `AuditEvent/${id} not found`));
  return toAuditEvent(fromStored(String(place.batch), place.index, stored));
}
