import type { Resource } from '@medplum/fhirtypes';

/**
 * The part of the store (src/store, DEVELOPERS.md) that sync uses. Declared structurally so sync
 * depends on the contract, not on the store's internals.
 */
export interface SyncStoreTx {
  create(r: Resource, opts?: { ifNoneExist?: string }): Promise<{ resource: Resource; created: boolean }>;
  read(type: string, id: string): Promise<Resource>;
  update(r: Resource, opts?: { ifMatch?: string }): Promise<{ resource: Resource; created: boolean }>;
  search(type: string, params: Record<string, string | string[]>, opts?: { lenient?: boolean }): Promise<{ resources: Resource[] }>;
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface SyncStore extends SyncStoreTx {
  transaction<T>(fn: (tx: SyncStoreTx) => Promise<T>): Promise<T>;
  migrate(name: string, statements: string[]): Promise<void>;
}

export interface WriteChange {
  action: 'create' | 'update' | 'delete';
  resource: Resource;
}
