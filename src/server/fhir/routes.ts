// The FHIR REST API as data: one row per interaction. The Express binding, the dispatcher and the
// CapabilityStatement are all derived from this table, so adding an interaction is adding a row.
import { buildCapabilityStatement } from './capability.ts';
import * as h from './handlers.ts';
import type { DeclaredInteractions, FhirHandler, FhirRoute } from './route-types.ts';

/** `GET /metadata`: the CapabilityStatement, its interactions read off this very table. */
const metadata: FhirHandler = (_req, ctx) => ({
  status: 200,
  body: buildCapabilityStatement({
    base: ctx.base,
    strict: ctx.strict,
    profiles: ctx.policy.profiles,
    declared: declaredInteractions(FHIR_ROUTES),
  }),
});

/** In match order: a literal segment (`_history`, `$validate`) wins over a `:param` at the same place. */
export const FHIR_ROUTES: readonly FhirRoute[] = [
  { name: 'capabilities', method: 'GET', path: '/metadata', handler: metadata },
  {
    name: 'history-system',
    method: 'GET',
    path: '/_history',
    handler: h.historySystem,
    declares: { system: ['history-system'] },
  },
  {
    name: 'transaction',
    method: 'POST',
    path: '/',
    handler: h.transaction,
    declares: { system: ['transaction', 'batch'] },
  },
  {
    name: 'history-type',
    method: 'GET',
    path: '/:type/_history',
    handler: h.historyType,
    declares: { type: ['history-type'] },
  },
  { name: 'search-type-post', method: 'POST', path: '/:type/_search', handler: h.searchTypePost },
  {
    name: 'validate-type',
    method: 'POST',
    path: '/:type/$validate',
    handler: h.validate,
    declares: { operation: 'validate' },
  },
  {
    name: 'search-type',
    method: 'GET',
    path: '/:type',
    handler: h.searchType,
    declares: { type: ['search-type'] },
  },
  { name: 'create', method: 'POST', path: '/:type', handler: h.create, declares: { type: ['create'] } },
  { name: 'read', method: 'GET', path: '/:type/:id', handler: h.read, declares: { type: ['read'] } },
  { name: 'update', method: 'PUT', path: '/:type/:id', handler: h.update, declares: { type: ['update'] } },
  { name: 'delete', method: 'DELETE', path: '/:type/:id', handler: h.remove, declares: { type: ['delete'] } },
  {
    name: 'history-instance',
    method: 'GET',
    path: '/:type/:id/_history',
    handler: h.historyInstance,
    declares: { type: ['history-instance'] },
  },
  { name: 'validate-instance', method: 'POST', path: '/:type/:id/$validate', handler: h.validate },
  { name: 'validate-instance-get', method: 'GET', path: '/:type/:id/$validate', handler: h.validate },
  {
    name: 'vread',
    method: 'GET',
    path: '/:type/:id/_history/:vid',
    handler: h.vread,
    declares: { type: ['vread'] },
  },
];

/** The interaction codes the table declares at type level (for every supported type) and system level. */
export function declaredInteractions(routes: readonly FhirRoute[] = FHIR_ROUTES): DeclaredInteractions {
  const type = routes.flatMap((r) => r.declares?.type ?? []);
  const system = routes.flatMap((r) => r.declares?.system ?? []);
  const operations = [
    ...new Set(routes.flatMap((r) => (r.declares?.operation ? [r.declares.operation] : []))),
  ];
  return { type, system, operations };
}
