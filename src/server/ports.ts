import type { Response } from 'express';
import type { Store, StoreTx } from '../store/index.ts';
import type { SyncService } from '../sync/index.ts';
import type { Validator } from '../validation/index.ts';

/**
 * The parts of the earlier stages the facade uses, taken from their own contracts (`store/index.ts`,
 * `validation/index.ts`) rather than retyped here. A wrapper (audit, access control) implements
 * these same shapes and is handed to `createApp` in place of the store.
 */
type StoreMembers = Pick<
  StoreTx,
  | 'create'
  | 'createMany'
  | 'read'
  | 'findByIdentifiers'
  | 'readJson'
  | 'vread'
  | 'history'
  | 'historyPage'
  | 'referrers'
  | 'absent'
  | 'update'
  | 'delete'
  | 'search'
  | 'searchJson'
  | 'lock'
>;

/** A failed entry of a batch, as its handler read it (a batch answers 200 whatever its entries did). */
export interface FailedEntry {
  /** Its index in the Bundle. */
  index: number;
  /** The FHIR interaction it asked for (`create`, `read`…), `batch` when its request was unreadable. */
  interaction: string;
  /** `Type/id`, or `Type`, when its request named them. */
  entity?: string;
  /** Its answer: a FhirError (the status and the rule it names), anything else an internal failure. */
  error: unknown;
}

/** What a route may do with the store: reads and writes, and a transaction. */
export interface StoreWrites extends StoreMembers {
  /** Runs `fn` in a transaction; a transaction's own store joins the open one (a batch's GET entry). */
  transaction<T>(fn: (tx: StoreWrites) => Promise<T>): Promise<T>;
  /**
   * Audits a batch's failed entry as this store's caller's: the security layer's store for one
   * caller has it (the front audits a failed request, never a failed entry); without security, none.
   */
  auditFailedEntry?(entry: FailedEntry): Promise<void>;
}

export interface FacadeStore extends StoreWrites {
  query: Store['query'];
  close: Store['close'];
}

/**
 * How a route finds the store for one request: with the security layer, the guarded store the
 * security front bound to this request's caller (`res.locals`); without it, the store itself.
 */
export type StoreFor = (res: Response) => FacadeStore;

export type FacadeValidator = Pick<Validator, 'validate' | 'registry'>;

/** The sync service as the facade's `/api/sync/*` routes use it. */
export interface FacadeSync
  extends Pick<SyncService, 'retry' | 'resolve' | 'rows' | 'conflicts' | 'pullRefusedAgain'> {
  status(): Promise<unknown>;
  /** The sync worker's Prometheus registry, served with the facade's on /metrics (summed over a pool). */
  readonly metrics?: SyncService['metrics'];
}
