import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { FhirError } from '../shared/outcome.ts';

/**
 * The parts of the other stages the facade uses, as written in DEVELOPERS.md. Typed structurally so
 * the real `Store`, `Validator` and `SyncService` satisfy them without the facade reaching into
 * their internals.
 */
export interface StoreWrites {
  create(
    r: Resource,
    opts?: { ifNoneExist?: string; keepId?: boolean },
  ): Promise<{ resource: Resource; created: boolean }>;
  /** Creates many in a few statements; each item gets its result or its FhirError. */
  createMany(
    items: Array<{ resource: Resource; opts?: { ifNoneExist?: string; keepId?: boolean } }>,
  ): Promise<Array<{ resource: Resource; created: boolean } | FhirError>>;
  read(type: string, id: string): Promise<Resource>;
  /** The current version as stored JSON text, served without a parse/serialise round trip. */
  readJson(type: string, id: string): Promise<{ json: string; versionId: string; lastUpdated: string }>;
  vread(type: string, id: string, versionId: string): Promise<Resource>;
  history(
    type: string,
    id: string,
  ): Promise<
    { versionId: string; lastUpdated: string; action: 'create' | 'update' | 'delete'; resource?: Resource }[]
  >;
  update(r: Resource, opts: { ifMatch?: string }): Promise<{ resource: Resource; created: boolean }>;
  delete(
    type: string,
    id: string,
    opts?: { ifMatch?: string },
  ): Promise<{ versionId: string; lastUpdated: string; deleted: boolean }>;
  search(...args: SearchArgs): Promise<SearchPage & { resources: Resource[] }>;
  /** `search` with each match as its stored JSON text. */
  searchJson(...args: SearchArgs): Promise<SearchPage & { ids: string[]; json: string[] }>;
}

type SearchArgs = [type: string, params: Record<string, string | string[]>, opts?: { lenient?: boolean }];

interface SearchPage {
  total?: number;
  offset: number;
  count: number;
  nextCursor?: string;
  ignored?: string[];
}

export interface FacadeStore extends StoreWrites {
  transaction<T>(fn: (tx: StoreWrites) => Promise<T>): Promise<T>;
  query(sql: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

export interface FacadeValidator {
  validate(resource: unknown, opts?: { profile?: string | string[] }): OperationOutcome;
  readonly registry: { all<T extends Resource = Resource>(resourceType: T['resourceType']): T[] };
}

export interface FacadeSync {
  status(): Promise<unknown>;
  /** The sync worker's Prometheus registry, served with the facade's on /metrics. */
  readonly metrics?: { metrics(): Promise<string> };
}
