// The FHIR REST API as data: one row per interaction. The Express binding, the dispatcher and the
// CapabilityStatement are all derived from this table, so adding an interaction is adding a row.
import { FhirError, issue } from '../../shared/outcome.ts';
import { buildCapabilityStatement } from './capability.ts';
import { operationLevels } from './dispatch.ts';
import { patientEverything, patientEverythingPost } from './everything.ts';
import * as h from './handlers.ts';
import type { DeclaredInteractions, FhirHandler, FhirRoute } from './route-types.ts';

/**
 * `GET /metadata`: the CapabilityStatement, its interactions read off this very table. `mode=full`
 * and `mode=normative` get it; `mode=terminology` asks for TerminologyCapabilities, which this server
 * does not publish (400 rather than an answer of the wrong kind).
 */
const metadata: FhirHandler = (req, ctx) => {
  const mode = req.query.mode;
  if (mode !== undefined && mode !== 'full' && mode !== 'normative')
    throw new FhirError(
      400,
      issue(
        'error',
        mode === 'terminology' ? 'not-supported' : 'invalid',
        mode === 'terminology'
          ? 'This server publishes no TerminologyCapabilities (mode=terminology); mode may be full or normative'
          : 'mode may be full, normative or terminology',
        'mode',
      ),
    );
  return { status: 200, body: capabilityStatement(ctx) };
};

const capabilityStatement = (ctx: Parameters<FhirHandler>[1]) =>
  buildCapabilityStatement({
    base: ctx.base,
    strict: ctx.strict,
    profiles: ctx.policy.profiles,
    declared: declaredInteractions(FHIR_ROUTES),
    ...(ctx.security ? { security: ctx.security } : {}),
  });

/** In match order: a literal segment (`_history`, `$validate`) wins over a `:param` at the same place. */
export const FHIR_ROUTES: readonly FhirRoute[] = [
  { name: 'capabilities', method: 'GET', path: '/metadata', handler: metadata, access: 'public' },
  {
    name: 'history-system',
    method: 'GET',
    path: '/_history',
    handler: h.historySystem,
    // Versions across every type and client: read and search on every type.
    access: { interaction: 'history-system', perms: ['r', 's'] },
    declares: { system: ['history-system'] },
  },
  {
    name: 'transaction',
    method: 'POST',
    path: '/',
    handler: h.transaction,
    access: 'bundle',
    declares: { system: ['transaction', 'batch'] },
  },
  {
    name: 'history-type',
    method: 'GET',
    path: '/:type/_history',
    handler: h.historyType,
    access: { interaction: 'history-type', perms: ['r', 's'] },
    declares: { type: ['history-type'] },
  },
  {
    name: 'search-type-post',
    method: 'POST',
    path: '/:type/_search',
    handler: h.searchTypePost,
    access: { interaction: 'search-type', perms: ['s'] },
  },
  {
    name: 'validate-type',
    method: 'POST',
    path: '/:type/$validate',
    handler: h.validate,
    access: { interaction: 'operation', perms: ['c'] },
    declares: { operation: 'validate' },
  },
  {
    name: 'search-type',
    method: 'GET',
    path: '/:type',
    handler: h.searchType,
    access: { interaction: 'search-type', perms: ['s'] },
    declares: { type: ['search-type'] },
  },
  {
    name: 'create',
    method: 'POST',
    path: '/:type',
    handler: h.create,
    access: { interaction: 'create', perms: ['c'] },
    declares: { type: ['create'] },
  },
  {
    name: 'conditional-update',
    method: 'PUT',
    path: '/:type',
    handler: h.conditionalUpdate,
    // It searches, and updates or creates: each needs its own permission.
    access: { interaction: 'update', perms: ['s', 'u', 'c'] },
    declares: { conditionalUpdate: true },
  },
  {
    name: 'read',
    method: 'GET',
    path: '/:type/:id',
    handler: h.read,
    access: { interaction: 'read', perms: ['r'] },
    declares: { type: ['read'] },
  },
  {
    name: 'update',
    method: 'PUT',
    path: '/:type/:id',
    handler: h.update,
    access: { interaction: 'update', perms: ['u'] },
    declares: { type: ['update'] },
  },
  {
    name: 'patch',
    method: 'PATCH',
    path: '/:type/:id',
    handler: h.patch,
    access: { interaction: 'patch', perms: ['u'] },
    declares: { type: ['patch'] },
  },
  {
    name: 'delete',
    method: 'DELETE',
    path: '/:type/:id',
    handler: h.remove,
    access: { interaction: 'delete', perms: ['d'] },
    declares: { type: ['delete'] },
  },
  {
    name: 'history-instance',
    method: 'GET',
    path: '/:type/:id/_history',
    handler: h.historyInstance,
    access: { interaction: 'history-instance', perms: ['r'] },
    declares: { type: ['history-instance'] },
  },
  {
    name: 'validate-instance',
    method: 'POST',
    path: '/:type/:id/$validate',
    handler: h.validate,
    access: { interaction: 'operation', perms: ['r'] },
  },
  {
    name: 'validate-instance-get',
    method: 'GET',
    path: '/:type/:id/$validate',
    handler: h.validate,
    access: { interaction: 'operation', perms: ['r'] },
  },
  {
    name: 'patient-everything',
    method: 'GET',
    path: '/:type/:id/$everything',
    handler: patientEverything,
    // Reading the Patient; each type of its compartment is searched as the caller may (left out if not).
    access: { interaction: 'operation', perms: ['r'] },
    declares: { operation: 'everything', on: ['Patient'] },
  },
  {
    name: 'patient-everything-post',
    method: 'POST',
    path: '/:type/:id/$everything',
    handler: patientEverythingPost,
    // The same operation, its parameters in the body (R4 allows POST for any operation).
    access: { interaction: 'operation', perms: ['r'] },
  },
  {
    name: 'vread',
    method: 'GET',
    path: '/:type/:id/_history/:vid',
    handler: h.vread,
    access: { interaction: 'vread', perms: ['r'] },
    declares: { type: ['vread'] },
  },
];

/**
 * The interaction codes the table declares at type level (for every supported type) and system level,
 * and its operations at the levels its rows' paths serve them at (the dispatcher's reading).
 */
export function declaredInteractions(routes: readonly FhirRoute[] = FHIR_ROUTES): DeclaredInteractions {
  const type = routes.flatMap((r) => r.declares?.type ?? []);
  const system = routes.flatMap((r) => r.declares?.system ?? []);
  const operations = new Map<string, string[] | undefined>();
  for (const r of routes) if (r.declares?.operation) operations.set(r.declares.operation, r.declares.on);
  const levels = operationLevels(routes);
  return {
    type,
    system,
    operations: [...operations].map(([name, on]) => ({
      name,
      levels: [...(levels.get(`$${name}`) ?? [])],
      ...(on ? { on } : {}),
    })),
    conditionalUpdate: routes.some((r) => r.declares?.conditionalUpdate),
  };
}
