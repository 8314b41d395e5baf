// What the security front asks of a token, read off the request before any handler runs (needOf,
// entryNeed): the FHIR rows come from the route table's `access`, the others from the front's own rules.
import { describe, expect, it } from 'vitest';
import { FHIR_ROUTES } from '../../src/server/fhir/routes.ts';
import { entryNeed, needOf } from '../../src/server/security/access.ts';

describe('needOf', () => {
  it.each([
    // The sync's outbox holds every client's rows: the operator's, whatever the method.
    ['GET', '/api/sync/status', undefined, { kind: 'operator' }],
    ['GET', '/api/sync/rows', undefined, { kind: 'operator' }],
    ['POST', '/api/sync/retry', undefined, { kind: 'operator' }],
    ['POST', '/api/sync/pull-refused', undefined, { kind: 'operator' }],
    ['POST', '/api/sync', undefined, { kind: 'operator' }],
    ['GET', '/api/syncing', undefined, { kind: 'domain', perms: ['r', 's'] }],
    // A client's disclosure log is read off the audit log: the audit scope as well.
    ['GET', '/api/clients/maija/disclosures', undefined, { kind: 'domain', perms: ['r', 's'], audit: true }],
    ['GET', '/api/clients/maija/consents', undefined, { kind: 'domain', perms: ['r', 's'] }],
    [
      'POST',
      '/fhir/Patient/p1/$validate',
      undefined,
      { kind: 'fhir', type: 'Patient', perms: ['r'], interaction: 'operation', id: 'p1' },
    ],
    // Asking whether a DELETE would pass needs what the DELETE needs (also when `mode` is repeated).
    [
      'POST',
      '/fhir/Patient/p1/$validate',
      'delete',
      { kind: 'fhir', type: 'Patient', perms: ['d'], interaction: 'operation', id: 'p1' },
    ],
    [
      'GET',
      '/fhir/Patient/p1/$validate',
      ['profile', 'delete'],
      { kind: 'fhir', type: 'Patient', perms: ['d'], interaction: 'operation', id: 'p1' },
    ],
    [
      'POST',
      '/fhir/Patient/$validate',
      'delete',
      { kind: 'fhir', type: 'Patient', perms: ['c'], interaction: 'operation' },
    ],
    ['GET', '/fhir/metadata', undefined, { kind: 'public' }],
    ['POST', '/fhir', undefined, { kind: 'bundle' }],
    [
      'GET',
      '/fhir/_history',
      undefined,
      { kind: 'fhir', type: '*', perms: ['r', 's'], interaction: 'history-system' },
    ],
    [
      'GET',
      '/fhir/Patient/_history',
      undefined,
      { kind: 'fhir', type: 'Patient', perms: ['r', 's'], interaction: 'history-type' },
    ],
    [
      'HEAD',
      '/fhir/Patient/p1',
      undefined,
      { kind: 'fhir', type: 'Patient', perms: ['r'], interaction: 'read', id: 'p1' },
    ],
    [
      'GET',
      '/fhir/Patient/p1/_history/2',
      undefined,
      { kind: 'fhir', type: 'Patient', perms: ['r'], interaction: 'vread', id: 'p1' },
    ],
    [
      'POST',
      '/fhir/Patient/_search',
      undefined,
      { kind: 'fhir', type: 'Patient', perms: ['s'], interaction: 'search-type' },
    ],
    [
      'PUT',
      '/fhir/Patient/p1',
      undefined,
      { kind: 'fhir', type: 'Patient', perms: ['u'], interaction: 'update', id: 'p1' },
    ],
    // Percent-encoded segments are decoded before they are judged.
    [
      'DELETE',
      '/fhir/Patient/p%31',
      undefined,
      { kind: 'fhir', type: 'Patient', perms: ['d'], interaction: 'delete', id: 'p1' },
    ],
    ['GET', '/fhir/%41uditEvent', undefined, { kind: 'audit', method: 'GET', interaction: 'search-type' }],
    [
      'GET',
      '/fhir/AuditEvent/a1/_history',
      undefined,
      { kind: 'audit', id: 'a1', method: 'GET', interaction: 'history-instance' },
    ],
    [
      'DELETE',
      '/fhir/AuditEvent/a1',
      undefined,
      { kind: 'audit', id: 'a1', method: 'DELETE', interaction: 'delete' },
    ],
    // No route: a valid token is all the front asks; the router answers 404 or 405.
    [
      'PATCH',
      '/fhir/Patient/p1',
      undefined,
      // A patch answers with, and tests, what it reads: read permission besides update.
      { kind: 'fhir', type: 'Patient', perms: ['u', 'r'], interaction: 'patch', id: 'p1' },
    ],
    ['PATCH', '/fhir/Patient', undefined, { kind: 'other' }],
    ['GET', '/fhir/Patient/p1/_history/2/extra', undefined, { kind: 'other' }],
    ['GET', '/fhir/Patient/%E0%A4%A', undefined, { kind: 'other' }],
    ['GET', '/elsewhere', undefined, { kind: 'other' }],
  ] as const)('%s %s (mode %s)', (method, path, mode, need) => {
    expect(needOf(method, path, () => mode)).toEqual(need);
  });

  it('a create with If-None-Exist searches as well: it tells whether a match exists', () => {
    expect(needOf('POST', '/fhir/Patient', undefined, true)).toEqual({
      kind: 'fhir',
      type: 'Patient',
      perms: ['c', 's'],
      interaction: 'create',
      conditional: true,
    });
    expect(needOf('POST', '/fhir/Patient', undefined, false)).toEqual({
      kind: 'fhir',
      type: 'Patient',
      perms: ['c'],
      interaction: 'create',
    });
    // Only a create is conditional so: the header on anything else changes nothing.
    expect(needOf('GET', '/fhir/Patient/p1', undefined, true)).toEqual({
      kind: 'fhir',
      type: 'Patient',
      perms: ['r'],
      interaction: 'read',
      id: 'p1',
    });
  });
});

describe('entryNeed', () => {
  it.each([
    [
      'GET',
      'Observation?code=x',
      { kind: 'fhir', type: 'Observation', perms: ['s'], interaction: 'search-type' },
    ],
    [
      'GET',
      '/Observation/o1',
      { kind: 'fhir', type: 'Observation', perms: ['r'], interaction: 'read', id: 'o1' },
    ],
    ['GET', 'metadata', { kind: 'public' }],
    // $validate?mode=delete in an entry needs what a DELETE needs, percent-encoded or not.
    [
      'GET',
      'Patient/p1/$validate?mode=delete',
      { kind: 'fhir', type: 'Patient', perms: ['d'], interaction: 'operation', id: 'p1' },
    ],
    [
      'GET',
      'Patient/p1/$validate?mo%64e=delete',
      { kind: 'fhir', type: 'Patient', perms: ['d'], interaction: 'operation', id: 'p1' },
    ],
    [
      'GET',
      'Patient/_history?_count=5',
      { kind: 'fhir', type: 'Patient', perms: ['r', 's'], interaction: 'history-type' },
    ],
    ['PUT', 'Patient/p1', { kind: 'fhir', type: 'Patient', perms: ['u'], interaction: 'update', id: 'p1' }],
    ['GET', 'AuditEvent?patient=Patient/p1', { kind: 'audit', method: 'GET', interaction: 'search-type' }],
    // A conditional update searches, and updates or creates.
    [
      'PUT',
      'Patient?identifier=x',
      { kind: 'fhir', type: 'Patient', perms: ['s', 'u', 'c'], interaction: 'update', conditional: true },
    ],
    // Not an interaction this server has: refused by the front as outside the scopes.
    ['PATCH', 'Patient?identifier=x', undefined],
    [undefined, 'Patient/p1', undefined],
  ] as const)('%s %s', (method, url, need) => {
    expect(entryNeed(method, url)).toEqual(need);
  });

  it('an entry with request.ifNoneExist searches as well', () => {
    expect(entryNeed('POST', 'Patient', true)).toEqual({
      kind: 'fhir',
      type: 'Patient',
      perms: ['c', 's'],
      interaction: 'create',
      conditional: true,
    });
    expect(entryNeed('POST', 'Patient', false)).toEqual({
      kind: 'fhir',
      type: 'Patient',
      perms: ['c'],
      interaction: 'create',
    });
  });
});

describe('the route table', () => {
  it('gives every FHIR route its access: public, bundle, or an interaction with at least one permission', () => {
    for (const route of FHIR_ROUTES) {
      const access = route.access;
      if (access === 'public' || access === 'bundle') continue;
      expect(access.perms.length, route.name).toBeGreaterThan(0);
      expect(access.interaction, route.name).toMatch(/^[a-z-]+$/);
    }
    expect(FHIR_ROUTES.filter((r) => r.access === 'public').map((r) => r.path)).toEqual(['/metadata']);
  });
});
