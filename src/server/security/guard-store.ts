import type { StoreTx } from '../../store/index.ts';
import type { FacadeStore, StoreWrites } from '../ports.ts';
import { type AuditRecord, type AuditWriter, insertAudit } from './audit.ts';
import type { Principal } from './context.ts';
import { CreateBatcher } from './create-batcher.ts';
import type { Guard } from './guard-context.ts';
import * as reads from './guard-reads.ts';
import * as writes from './guard-writes.ts';
import type { SecurityStore } from './schema.ts';

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

/** The store's members as one caller may use them: an explicit table, one named handler per member. */
function guardTable(g: Guard): StoreWrites {
  return {
    read: (type, id) => reads.readOne(g, 'read', type, id, () => g.base.read(type, id)),
    vread: (type, id, vid) => reads.readOne(g, 'vread', type, id, () => g.base.vread(type, id, vid)),
    readJson: (type, id) => reads.readJson(g, type, id),
    history: (type, id) => reads.history(g, type, id),
    historyPage: (type, opts) => reads.historyPage(g, type, opts),
    searchJson: (type, params, opts) => reads.searchJson(g, type, params, opts),
    search: async (type, params, opts) => {
      const { json, ...rest } = await reads.searchJson(g, type, params, opts);
      return { ...rest, resources: json.map((t) => JSON.parse(t)) };
    },
    findByIdentifiers: (type, identifiers) => reads.findByIdentifiers(g, type, identifiers),
    referrers: (type, id, fromTypes, limit) => reads.referrers(g, type, id, fromTypes, limit),
    create: (resource, opts) => writes.create(g, resource, opts),
    createMany: (items) => writes.createMany(g, items),
    update: (resource, opts) => writes.update(g, resource, opts),
    delete: (type, id, opts) => writes.remove(g, type, id, opts),
  };
}

/** The guard of a transaction a handler holds: writes join it, audit rows are written in it. */
const inTransaction = (p: Principal, tx: StoreTx): Guard => ({
  p,
  base: tx,
  inTx: (fn) => fn(tx),
  audit: (records) => insertAudit(tx, records),
});

/**
 * The store as the facade's routes see it when security is on, one per caller (the security front
 * binds it to each request). Reads by a receiving party show only what the client's consents permit
 * (a withheld resource looks like a missing one; searches drop it and report no total); turvakielto
 * Patients are redacted for clients without the turvakielto scope; every read is audited before it
 * returns, and every write is audited in its own transaction. Creates arriving in the same
 * event-loop turn are written together in one transaction with their audit rows. It is built member
 * by member, not spread from the store: a store member missing here is missing from the facade
 * (fails closed), and the type makes every `FacadeStore` member explicit.
 */
export function guardStore(store: SecurityStore, writer: AuditWriter): (p: Principal) => FacadeStore {
  const postgres = store.engine === 'postgres';
  // PGlite is one connection and does best with whole batches; PostgreSQL with several smaller ones.
  const creates = new CreateBatcher(store, postgres ? 24 : 64, postgres ? 5 : 1);
  const inStore: Guard['inTx'] = (fn) => store.transaction(fn);
  // Read audit rows outside a transaction go through the writer, which gathers each turn's rows.
  const auditRead = (records: AuditRecord[]): Promise<void> =>
    records.length === 1
      ? writer.record(records[0] as AuditRecord)
      : Promise.all(records.map((r) => writer.record(r))).then(() => undefined);
  return (p) => {
    const t = guardTable({ p, base: store, inTx: inStore, audit: auditRead });
    return {
      create: (resource, opts) => creates.submit(resource, opts, p),
      createMany: t.createMany,
      read: t.read,
      findByIdentifiers: t.findByIdentifiers,
      readJson: t.readJson,
      vread: t.vread,
      history: t.history,
      historyPage: t.historyPage,
      referrers: t.referrers,
      update: t.update,
      delete: t.delete,
      search: t.search,
      searchJson: t.searchJson,
      transaction: (fn) => store.transaction((tx) => fn(guardTable(inTransaction(p, tx)))),
      query: (sql, params) => store.query(sql, params),
      close: () => store.close(),
    };
  };
}
