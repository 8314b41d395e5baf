import type { Resource } from '@medplum/fhirtypes';
import { redactNonDisclosed } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { CreateOptions, StoreTx, StoredJson, WriteResult } from '../../store/index.ts';
import type { FacadeStore, StoreWrites } from '../ports.ts';
import { type AuditRecord, type AuditWriter, insertAudit } from './audit.ts';
import { DisclosureCheck } from './consent.ts';
import { type Principal, principal } from './context.ts';
import type { SecurityStore } from './schema.ts';

/** Runs `fn` in the write transaction: a new one, or the one a transaction handler already holds. */
type InTx = <T>(fn: (tx: StoreTx) => Promise<T>) => Promise<T>;

/**
 * The members of the store's `Store` that the guarded store does not offer, and why. Everything
 * else the store has is in the guarded store's explicit table below; a member in neither is not
 * reachable through the facade, and `tests/security/guard-table.test.ts` fails until it is placed.
 */
export const NOT_SERVED: Readonly<Record<string, string>> = {
  engine: 'which database it is; read by the security layer itself, not by routes',
  migrate: 'schema set-up at start, never on a request',
  addHooks: "the sync's outbox hooks, installed beside the API",
};

const PATIENT_IN_JSON =
  /"(?:subject|patient)"\s*:\s*\{(?:[^{}]|\{[^{}]*\})*?"reference"\s*:\s*"(Patient\/[^"]+)"/;
const TURVAKIELTO = '"TURVAKIELTO"';

/** The client (Patient reference) a stored resource belongs to, read off its JSON text. */
function patientOfJson(type: string, id: string, json: string): string[] {
  if (type === 'Patient') return [`Patient/${id}`];
  const m = PATIENT_IN_JSON.exec(json);
  return m ? [m[1] as string] : [];
}

function patientOf(r: Resource): string[] {
  if (r.resourceType === 'Patient') return r.id ? [`Patient/${r.id}`] : [];
  const ref = r as { subject?: { reference?: string }; patient?: { reference?: string } };
  const p = ref.patient?.reference ?? ref.subject?.reference;
  return p?.startsWith('Patient/') ? [p] : [];
}

/** The same refusal whether the resource is missing or withheld: nothing tells a party it exists. */
function withheld(type: string, id: string): FhirError {
  return new FhirError(
    403,
    issue('error', 'forbidden', `sec-consent-1: ${type}/${id} is not available to this client`, type),
  );
}

const record = (p: Principal, r: Omit<AuditRecord, 'client' | 'party' | 'requestId'>): AuditRecord => ({
  client: p.clientId,
  ...(p.party ? { party: p.party } : {}),
  ...(p.requestId ? { requestId: p.requestId } : {}),
  ...r,
});

/**
 * The store as the facade's routes see it when security is on. Reads by a receiving party show only
 * what the client's consents permit (a withheld resource looks like a missing one; searches drop it
 * and report no total); turvakielto Patients are redacted for clients without the turvakielto scope;
 * every read is audited before it returns, and every write is audited in its own transaction.
 * Creates arriving in the same event-loop turn are written together in one transaction with their
 * audit rows. It is built member by member, not spread from the store: a store member missing here
 * is missing from the facade (fails closed), and the type makes every `FacadeStore` member explicit.
 */
export function guardStore(store: SecurityStore, writer: AuditWriter): FacadeStore {
  const outer = guard(
    store,
    (fn) => store.transaction(fn),
    (records) => Promise.all(records.map((r) => writer.record(r))).then(() => undefined),
  );
  const postgres = store.engine === 'postgres';
  // PGlite is one connection and does best with whole batches; PostgreSQL with several smaller ones.
  const creates = new CreateBatcher(store, postgres ? 24 : 64, postgres ? 5 : 1);
  return {
    create: (resource, opts) => creates.submit(resource, opts, principal()),
    createMany: outer.createMany,
    read: outer.read,
    findByIdentifiers: outer.findByIdentifiers,
    readJson: outer.readJson,
    vread: outer.vread,
    history: outer.history,
    historyPage: outer.historyPage,
    referrers: outer.referrers,
    update: outer.update,
    delete: outer.delete,
    search: outer.search,
    searchJson: outer.searchJson,
    transaction: (fn) =>
      store.transaction((tx) =>
        fn(
          guard(
            tx,
            (inner) => inner(tx),
            (records) => insertAudit(tx, records),
          ),
        ),
      ),
    query: (sql, params) => store.query(sql, params),
    close: () => store.close(),
  };
}

function guard(base: StoreTx, inTx: InTx, audit: (records: AuditRecord[]) => Promise<void>): StoreWrites {
  const checked = async <T extends Resource>(
    p: Principal,
    r: T,
  ): Promise<{ resource: T; consentId?: string }> => {
    if (!p.party) return { resource: p.turvakielto ? r : redactNonDisclosed(r) };
    const d = await new DisclosureCheck(base, p.party).check(r);
    if (!d.permitted) throw withheld(r.resourceType, r.id ?? '');
    return {
      resource: p.turvakielto ? r : redactNonDisclosed(r),
      ...(d.consentId ? { consentId: d.consentId } : {}),
    };
  };
  /** For a party a missing resource is refused like a withheld one. */
  const hideMissing = async <T>(p: Principal, type: string, id: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (p.party && err instanceof FhirError && (err.status === 404 || err.status === 410))
        throw withheld(type, id);
      throw err;
    }
  };
  const audited = async (
    p: Principal,
    interaction: string,
    action: AuditRecord['action'],
    entities: string[],
    patients: string[],
    consents?: string[],
    query?: string,
  ) =>
    audit([
      record(p, {
        interaction,
        action,
        outcome: '0',
        entities,
        patients,
        ...(consents?.length ? { consents } : {}),
        ...(query !== undefined ? { query } : {}),
      }),
    ]);
  const writeAudit = (
    tx: StoreTx,
    p: Principal,
    interaction: string,
    action: AuditRecord['action'],
    r: Resource,
  ) =>
    insertAudit(tx, [
      record(p, {
        interaction,
        action,
        outcome: '0',
        entities: [`${r.resourceType}/${r.id}`],
        patients: patientOf(r),
      }),
    ]);

  const readOne = async <T extends Resource>(
    interaction: string,
    type: string,
    id: string,
    load: () => Promise<T>,
  ): Promise<T> => {
    const p = principal();
    const raw = await hideMissing(p, type, id, load);
    const { resource, consentId } = await checked(p, raw);
    await audited(
      p,
      interaction,
      'R',
      [`${type}/${id}`],
      patientOf(raw),
      consentId ? [`Consent/${consentId}`] : [],
    );
    return resource;
  };

  const searchGuarded = async (
    type: string,
    params: Record<string, string | string[] | undefined>,
    opts?: { lenient?: boolean },
  ) => {
    const p = principal();
    const result = await base.searchJson(type, params, opts);
    let { ids, json } = result;
    const consents: string[] = [];
    const patients: string[] = [];
    if (p.party) {
      const check = new DisclosureCheck(base, p.party);
      const keep = await Promise.all(
        json.map(async (text) => {
          const d = await check.check(JSON.parse(text) as Resource);
          if (d.consentId) consents.push(`Consent/${d.consentId}`);
          return d.permitted;
        }),
      );
      ids = ids.filter((_, i) => keep[i]);
      json = json.filter((_, i) => keep[i]);
    }
    if (!p.turvakielto && type === 'Patient') {
      json = json.map((text) =>
        text.includes(TURVAKIELTO) ? JSON.stringify(redactNonDisclosed(JSON.parse(text))) : text,
      );
    }
    json.forEach((text, i) => patients.push(...patientOfJson(type, ids[i] as string, text)));
    const query = new URLSearchParams(
      Object.entries(params).flatMap(([k, v]) =>
        ([] as string[]).concat(v ?? []).map((one): [string, string] => [k, one]),
      ),
    ).toString();
    await audited(p, 'search-type', 'E', [type], patients, [...new Set(consents)], query);
    const { total: _total, ...rest } = result;
    return { ...(p.party ? rest : result), ids, json };
  };

  /** Resources found by business identifier (matching before a write): read rules apply to each. */
  const findByIdentifiers: StoreWrites['findByIdentifiers'] = async (type, identifiers) => {
    const p = principal();
    const found = await base.findByIdentifiers(type, identifiers);
    const seen: Resource[] = [];
    const consents: string[] = [];
    const shown = await Promise.all(
      found.map((list) =>
        Promise.all(
          list.map(async (r) => {
            const { resource, consentId } = await checked(p, r);
            seen.push(r);
            if (consentId) consents.push(`Consent/${consentId}`);
            return resource;
          }),
        ),
      ),
    );
    if (seen.length) {
      await audited(
        p,
        'search-type',
        'E',
        seen.map((r) => `${r.resourceType}/${r.id}`),
        seen.flatMap(patientOf),
        [...new Set(consents)],
      );
    }
    return shown;
  };

  /**
   * Who still points at a resource (checked before a delete). A party is not told: when anything
   * does, its delete is refused like a withheld read, naming nothing.
   */
  const referrers: StoreWrites['referrers'] = async (type, id, fromTypes, limit) => {
    const p = principal();
    const found = await base.referrers(type, id, fromTypes, limit);
    if (p.party && found.length) throw withheld(type, id);
    return found;
  };

  const guarded: StoreWrites = {
    findByIdentifiers,
    referrers,
    read: (type, id) => readOne('read', type, id, () => base.read(type, id)),
    vread: (type, id, vid) => readOne('vread', type, id, () => base.vread(type, id, vid)),
    async historyPage(type, opts) {
      const p = principal();
      // A party's access is decided per client and consent; a history across clients is not offered.
      if (p.party) {
        throw new FhirError(
          403,
          issue(
            'error',
            'forbidden',
            'sec-consent-1: history across clients is not available to a receiving party',
          ),
        );
      }
      const page = await base.historyPage(type, opts);
      const patients = page.entries.flatMap((e) => (e.resource ? patientOf(e.resource) : []));
      await audited(p, type ? 'history-type' : 'history-system', 'R', [type ?? '*'], [...new Set(patients)]);
      if (p.turvakielto) return page;
      return {
        ...page,
        entries: page.entries.map((e) =>
          e.resource ? { ...e, resource: redactNonDisclosed(e.resource) } : e,
        ),
      };
    },
    async readJson(type, id): Promise<StoredJson> {
      const p = principal();
      const stored = await hideMissing(p, type, id, () => base.readJson(type, id));
      if (!p.party && (p.turvakielto || type !== 'Patient' || !stored.json.includes(TURVAKIELTO))) {
        await audited(p, 'read', 'R', [`${type}/${id}`], patientOfJson(type, id, stored.json));
        return stored;
      }
      const raw = JSON.parse(stored.json) as Resource;
      const { resource, consentId } = await checked(p, raw);
      await audited(
        p,
        'read',
        'R',
        [`${type}/${id}`],
        patientOf(raw),
        consentId ? [`Consent/${consentId}`] : [],
      );
      return { ...stored, json: resource === raw ? stored.json : JSON.stringify(resource) };
    },
    async history(type, id) {
      const p = principal();
      const versions = await hideMissing(p, type, id, () => base.history(type, id));
      const newest = versions.find((v) => v.resource)?.resource;
      let consentId: string | undefined;
      if (p.party) {
        if (!newest) throw withheld(type, id);
        ({ consentId } = await checked(p, newest));
      }
      await audited(
        p,
        'history-instance',
        'R',
        [`${type}/${id}`],
        newest ? patientOf(newest) : [],
        consentId ? [`Consent/${consentId}`] : [],
      );
      return p.turvakielto
        ? versions
        : versions.map((v) => (v.resource ? { ...v, resource: redactNonDisclosed(v.resource) } : v));
    },
    searchJson: searchGuarded,
    async search(type, params, opts) {
      const { json, ...rest } = await searchGuarded(type, params, opts);
      return { ...rest, resources: json.map((t) => JSON.parse(t) as Resource) };
    },
    create: (resource, opts) =>
      inTx(async (tx) => {
        const written = await tx.create(resource, opts);
        await writeAudit(tx, principal(), 'create', 'C', written.resource);
        return written;
      }),
    createMany: (items) =>
      inTx(async (tx) => {
        const p = principal();
        const results = await tx.createMany(items);
        const ok = results.filter((r): r is WriteResult => !(r instanceof FhirError));
        await insertAudit(
          tx,
          ok.map((r) =>
            record(p, {
              interaction: 'create',
              action: 'C',
              outcome: '0',
              entities: [`${r.resource.resourceType}/${r.resource.id}`],
              patients: patientOf(r.resource),
            }),
          ),
        );
        return results;
      }),
    update: (resource, opts) =>
      inTx(async (tx) => {
        const written = await tx.update(resource, opts);
        await writeAudit(tx, principal(), 'update', 'U', written.resource);
        return written;
      }),
    delete: (type, id, opts) =>
      inTx(async (tx) => {
        const result = await tx.delete(type, id, opts);
        if (result.deleted) {
          await insertAudit(tx, [
            record(principal(), {
              interaction: 'delete',
              action: 'D',
              outcome: '0',
              entities: [`${type}/${id}`],
              patients: [],
            }),
          ]);
        }
        return result;
      }),
  };
  return guarded;
}

/**
 * Creates of one event-loop turn written in one transaction together with their audit rows (the
 * store's own group commit only applies to writes without hooks or surrounding transaction).
 */
class CreateBatcher {
  private pending: {
    resource: Resource;
    opts?: CreateOptions;
    p: Principal;
    done: (r: WriteResult | Error) => void;
  }[] = [];
  private inFlight = 0;

  constructor(
    private readonly store: SecurityStore,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
  ) {}

  submit<T extends Resource>(
    resource: T,
    opts: CreateOptions | undefined,
    p: Principal,
  ): Promise<WriteResult<T>> {
    return new Promise((resolve, reject) => {
      const done = (r: WriteResult | Error) =>
        r instanceof Error
          ? reject(r)
          : // createMany hands back the resource it was given, with its id and meta filled in.
            resolve({ ...r, resource: r.resource as T });
      this.pending.push({ resource, ...(opts ? { opts } : {}), p, done });
      if (this.pending.length === 1) setImmediate(() => this.drain());
    });
  }

  private drain(): void {
    while (this.pending.length && this.inFlight < this.maxInFlight) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        if (this.pending.length) this.drain();
      });
    }
  }

  private async write(batch: CreateBatcher['pending']): Promise<void> {
    try {
      const results = await this.store.transaction(async (tx) => {
        const out = await tx.createMany(
          batch.map(({ resource, opts }) => ({ resource, ...(opts ? { opts } : {}) })),
        );
        const records: AuditRecord[] = [];
        out.forEach((r, i) => {
          if (r instanceof FhirError) return;
          records.push(
            record((batch[i] as (typeof batch)[number]).p, {
              interaction: 'create',
              action: 'C',
              outcome: '0',
              entities: [`${r.resource.resourceType}/${r.resource.id}`],
              patients: patientOf(r.resource),
            }),
          );
        });
        await insertAudit(tx, records);
        return out;
      });
      results.forEach((r, i) => (batch[i] as (typeof batch)[number]).done(r));
    } catch (err) {
      if (batch.length === 1) return (batch[0] as (typeof batch)[number]).done(err as Error);
      // One create the database refuses must not fail the others: retry each on its own.
      for (const item of batch) await this.write([item]);
    }
  }
}
