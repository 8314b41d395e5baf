// What the security front asks of a token, read off the request before any handler runs (needOf):
// the rows that are not plain FHIR interactions.
import { describe, expect, it } from 'vitest';
import { needOf } from '../../src/server/security/access.ts';

describe('needOf', () => {
  it.each([
    ['GET', '/api/sync/status', undefined, { kind: 'domain', perms: ['r', 's'] }],
    // Requeueing dead letters writes: the permissions of a domain write, not of a read.
    ['POST', '/api/sync/retry', undefined, { kind: 'domain', perms: ['c', 'u'] }],
    [
      'POST',
      '/fhir/Patient/p1/$validate',
      undefined,
      { kind: 'fhir', type: 'Patient', perms: ['r'], interaction: 'operation', id: 'p1' },
    ],
    // Asking whether a DELETE would pass needs what the DELETE needs.
    [
      'POST',
      '/fhir/Patient/p1/$validate',
      'delete',
      { kind: 'fhir', type: 'Patient', perms: ['d'], interaction: 'operation', id: 'p1' },
    ],
    [
      'POST',
      '/fhir/Patient/$validate',
      'delete',
      { kind: 'fhir', type: 'Patient', perms: ['c'], interaction: 'operation' },
    ],
    ['GET', '/fhir/metadata', undefined, { kind: 'public' }],
  ] as const)('%s %s (mode %s)', (method, path, mode, need) => {
    expect(needOf(method, path, mode)).toEqual(need);
  });
});
