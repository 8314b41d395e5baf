import type { ServerTiming } from '../../shared/server-timing.ts';
import type { SavedCriteria, SearchParams } from '../../store/index.ts';
import type { Limits } from '../http/limits.ts';
import type { StoreWrites } from '../ports.ts';
import type { WritePolicy } from '../write-policy.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Where an operation's `$name` stands in its URL: `/$name`, `/:type/$name`, `/:type/:id/$name`. */
export type OperationLevel = 'system' | 'type' | 'instance';

/** A FHIR request with nothing of the transport left: what a handler reads. */
export interface FhirRequest {
  method: Method;
  /** Path parameters named in the route's pattern (`type`, `id`, `vid`). */
  params: Record<string, string>;
  /** Query parameters: a string, or an array when repeated. */
  query: Record<string, string | string[]>;
  /** Request headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, when the method has one. */
  body?: Buffer;
}

/** What a handler answers; the binding writes it out (status, headers, JSON value or JSON text). */
export interface FhirResponse {
  status: number;
  headers?: Record<string, string>;
  /** A value to serialise as JSON. */
  body?: unknown;
  /** JSON that is already text (stored resources, Bundles spliced around them). */
  json?: string;
}

/** Everything a handler may use besides the request: the stages behind it and this request's base URL. */
export interface FhirContext {
  /** The caller's store; a transaction's GET entry gets the transaction's own (which joins it). */
  store: StoreWrites;
  /** The route table this request was dispatched from: a batch or transaction routes its GET entries. */
  routes: RouteMatcher;
  policy: WritePolicy;
  strict: boolean;
  limits: Limits;
  /** Public base of the FHIR API for links, e.g. https://host/prefix/fhir. */
  base: string;
  /** Collects validation and database time for the response's Server-Timing header. */
  timing?: ServerTiming;
  /** What the CapabilityStatement says of access control; absent without the security layer. */
  security?: SecurityStatement;
  /**
   * Where the criteria of a long or POSTed search are saved for its paging links (`_saved`): the
   * request's database. Absent for a transaction's entries, whose store is the open transaction.
   */
  savedSearches?: SavedSearches;
}

/** Search criteria saved under a random key for a while (the store's `saveSearch`, `loadSavedSearch`). */
export interface SavedSearches {
  save(type: string, criteria: SearchParams): Promise<string>;
  /** The criteria saved under `key` for `type`; undefined when unknown or expired. */
  load(type: string, key: string): Promise<SavedCriteria | undefined>;
}

/** Finds the route for a method and a path after the FHIR base (404/405 OperationOutcomes otherwise). */
export interface RouteMatcher {
  match(method: string, path: string): { route: FhirRoute; params: Record<string, string> };
}

/** The security layer as the CapabilityStatement declares it. */
export interface SecurityStatement {
  auth: 'off' | 'embedded' | 'external';
  /** The public origin (SMART discovery and the embedded token endpoint hang off it). */
  origin(): string;
}

export type FhirHandler = (req: FhirRequest, ctx: FhirContext) => Promise<FhirResponse> | FhirResponse;

/** What a route row declares in the CapabilityStatement. */
export interface Declares {
  /** Type-level interaction codes (`read`, `search-type`, …). */
  type?: string[];
  /** System-level interaction codes (`transaction`, `history-system`, …). */
  system?: string[];
  /**
   * An operation name (`validate`), declared once for all its rows: at the levels the paths of the
   * rows serving it say (`/$name` system, `/:type/$name` type, `/:type/:id/$name` instance).
   */
  operation?: string;
  /** The types the operation is defined on (`$everything`: Patient); every type when absent. */
  on?: string[];
  /** The route is a conditional update (`PUT Type?criteria`). */
  conditionalUpdate?: boolean;
}

/** One FHIR permission letter of SMART v2: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/**
 * What a caller must hold for a route: nothing (`public`), each entry's own permissions (`bundle`),
 * or the permissions on the route's `:type` (every type for a route without one) together with the
 * FHIR restful-interaction code the audit log records.
 */
export type Access = 'public' | 'bundle' | { interaction: string; perms: Permission[] };

/**
 * One row of the route table: an interaction, its URL pattern, its handler, the access it needs and
 * what it declares.
 */
export interface FhirRoute {
  name: string;
  method: Method;
  /** `/:type/:id/_history/:vid`-style: literal segments and `:name` parameters. */
  path: string;
  handler: FhirHandler;
  access: Access;
  declares?: Declares;
}

/** The interactions and operations a route table declares, as the CapabilityStatement lists them. */
export interface DeclaredInteractions {
  type: string[];
  system: string[];
  /**
   * Each operation with the levels the table serves it at and the types it is defined on (every type
   * when `on` is absent).
   */
  operations: Array<{ name: string; levels: OperationLevel[]; on?: string[] }>;
  conditionalUpdate: boolean;
}

/** The interaction a route runs, as the audit log and the CapabilityStatement name it. */
export function routeInteraction(route: FhirRoute): string {
  return typeof route.access === 'object' ? route.access.interaction : route.name;
}
