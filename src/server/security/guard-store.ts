import type { Resource } from '@medplum/fhirtypes';
import type { CreateOptions, Row, UpdateOptions } from '../../store/index.ts';
import type { FacadeStore, FailedEntry, StoreWrites } from '../ports.ts';
import type { AuditRecord, AuditWriter } from './audit.ts';
import type { Principal } from './context.ts';
import { CreateBatcher } from './create-batcher.ts';
import { auditFailedEntry } from './entry-audit.ts';
import { type Guard, refusalsAudited, registerGuard, txGuard } from './guard-context.ts';
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

/** What every create and update checks first: a party's own consents, and its view of the targets. */
async function admitWrite(g: Guard, type: string, targets: CreateOptions['targets']): Promise<void> {
  writes.refuseOwnConsent(g.p, type);
  await reads.refuseHiddenTargets(g, targets);
}

/** What every create checks first: admitWrite's, and a create with criteria looks the type up. */
async function admitCreate(g: Guard, type: string, opts: CreateOptions | undefined): Promise<void> {
  await admitWrite(g, type, opts?.targets);
  await writes.admitCreate(g, type, opts);
}

/**
 * The store's members as one caller may use them: an explicit table, one named handler per member.
 * A class, so that binding it to a request allocates one object, not a closure per member; the
 * caller's guard is a private field (no route can reach the store underneath through it).
 */
class GuardedWrites implements StoreWrites {
  readonly #g: Guard;
  constructor(g: Guard) {
    this.#g = g;
  }
  read<T extends Resource>(type: string, id: string) {
    const g = this.#g;
    return reads.readOne(g, 'read', type, id, () => g.base.read<T>(type, id));
  }
  vread<T extends Resource>(type: string, id: string, vid: string) {
    const g = this.#g;
    return reads.readOne(g, 'vread', type, id, () => g.base.vread<T>(type, id, vid));
  }
  readJson(type: string, id: string) {
    return reads.readJson(this.#g, type, id);
  }
  history(type: string, id: string) {
    return reads.history(this.#g, type, id);
  }
  historyPage(...args: Parameters<StoreWrites['historyPage']>) {
    return reads.historyPage(this.#g, ...args);
  }
  searchJson(...args: Parameters<StoreWrites['searchJson']>) {
    return reads.searchJson(this.#g, ...args);
  }
  async search(...args: Parameters<StoreWrites['search']>) {
    const { json, ...rest } = await reads.searchJson(this.#g, ...args);
    return { ...rest, resources: json.map((t) => JSON.parse(t) as Resource) };
  }
  findByIdentifiers(...args: Parameters<StoreWrites['findByIdentifiers']>) {
    return reads.findByIdentifiers(this.#g, ...args);
  }
  referrers(...args: Parameters<StoreWrites['referrers']>) {
    return reads.referrers(this.#g, ...args);
  }
  absent(refs: readonly string[]) {
    return reads.absent(this.#g, refs);
  }
  async create<T extends Resource>(resource: T, opts?: CreateOptions) {
    await admitCreate(this.#g, resource.resourceType, opts);
    return writes.create(this.#g, resource, opts);
  }
  async createMany(...args: Parameters<StoreWrites['createMany']>) {
    for (const { resource, opts } of args[0]) await admitCreate(this.#g, resource.resourceType, opts);
    return writes.createMany(this.#g, ...args);
  }
  async update<T extends Resource>(resource: T, opts?: UpdateOptions) {
    await admitWrite(this.#g, resource.resourceType, opts?.targets);
    return writes.update(this.#g, resource, opts);
  }
  delete(...args: Parameters<StoreWrites['delete']>) {
    writes.refuseOwnConsent(this.#g.p, args[0]);
    return writes.remove(this.#g, ...args);
  }
  /** The caller's advisory locks, in the transaction underneath (the store's own refuses outside one). */
  lock(keys: readonly string[]) {
    return this.#g.base.lock(keys);
  }
  /** Inside a transaction (the only place this class is used alone): joins the open one. */
  transaction<T>(fn: (tx: StoreWrites) => Promise<T>): Promise<T> {
    return fn(this);
  }
}

/** What every caller's guarded store shares: the store, its create batcher and read audit writer. */
interface Shared {
  store: SecurityStore;
  creates: CreateBatcher;
  inStore: Guard['inTx'];
  auditRead: Guard['audit'];
}

/**
 * The facade's store for one caller: the guarded members above, creates batched with their audit
 * rows, transactions whose members are guarded the same way, and nothing else of the store.
 */
class GuardedStore extends GuardedWrites implements FacadeStore {
  readonly #g: Guard;
  readonly #shared: Shared;
  constructor(p: Principal, shared: Shared) {
    const g: Guard = {
      p,
      base: shared.store,
      inTx: shared.inStore,
      audit: shared.auditRead,
      refusal: (row) => shared.auditRead([row]).then(() => void refusalsAudited.add(p)),
    };
    super(g);
    registerGuard(this, g);
    this.#g = g;
    this.#shared = shared;
  }
  auditFailedEntry(entry: FailedEntry): Promise<void> {
    return auditFailedEntry(this.#g, entry);
  }
  override async create<T extends Resource>(resource: T, opts?: CreateOptions) {
    await admitCreate(this.#g, resource.resourceType, opts);
    return this.#shared.creates.submit(resource, opts, this.#g.p);
  }
  /**
   * A transaction whose members are guarded like the store's. A refusal inside it rolls it back, and
   * the refusal rows written in it with it: they are kept aside (`txGuard`) and written here, after
   * the rollback and before the failure reaches the caller.
   */
  override async transaction<T>(fn: (tx: StoreWrites) => Promise<T>): Promise<T> {
    const p = this.#g.p;
    const refusals: AuditRecord[] = [];
    try {
      return await this.#shared.store.transaction((tx) => fn(new GuardedWrites(txGuard(p, tx, refusals))));
    } catch (err) {
      if (refusals.length) {
        await this.#shared.auditRead(refusals);
        refusalsAudited.add(p);
      }
      throw err;
    }
  }
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.#shared.store.query<T>(sql, params);
  }
  close() {
    return this.#shared.store.close();
  }
}

/** What a guarded store offers that the store does not: the audit of a batch's failed entry. */
export const GUARD_OWN_MEMBERS: readonly string[] = ['auditFailedEntry'];

/** Every store member a guarded store offers (the table `tests/security/guard-table.test.ts` checks). */
export const GUARDED_MEMBERS: readonly string[] = [
  ...Object.getOwnPropertyNames(GuardedWrites.prototype),
  ...Object.getOwnPropertyNames(GuardedStore.prototype),
].filter(
  (name, i, all) => name !== 'constructor' && !GUARD_OWN_MEMBERS.includes(name) && all.indexOf(name) === i,
);

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
  const shared: Shared = {
    store,
    // PGlite is one connection and does best with whole batches; PostgreSQL with several smaller ones.
    creates: new CreateBatcher(store, postgres ? 24 : 64, postgres ? 5 : 1),
    inStore: (fn) => store.transaction(fn),
    // Read audit rows outside a transaction go through the writer, which gathers each turn's rows.
    auditRead: (records) =>
      records.length === 1
        ? writer.record(records[0] as AuditRecord)
        : Promise.all(records.map((r) => writer.record(r))).then(() => undefined),
  };
  return (p) => new GuardedStore(p, shared);
}
