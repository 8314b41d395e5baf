// A Kanta PHR batch entry runs as the interaction the security front checked: both read the entry's
// method and url through the same route table, and the batch refuses what is not one of its own.
import { describe, expect, it } from 'vitest';
import { type EntryRequest, readEntryRequest } from '../../src/server/kanta/batch-request.ts';
import { entryNeed } from '../../src/server/security/access.ts';
import { FhirError } from '../../src/shared/outcome.ts';

const URLS = [
  ...['Patient', '/Patient', 'Patient/', '//Patient//', 'Patient?', 'Patient?x=1', 'Patient/?x=1'],
  ...['Patient/_search', 'Patient/$validate', 'Patient/_history', '_history', 'metadata', '', '/', '?'],
  ...[
    'Patient/1',
    'Patient/1/',
    'Patient/1?x=1',
    'Patient//1',
    'Patient/1/_history',
    'Patient/1/$everything',
  ],
  ...['Patient/1/_history/2', 'Patient/1/_history/2/extra', 'Patient/_history/1', 'Pat%69ent/1'],
  ...['Patient/a%2Fb', 'Patient/a%zz', 'Patient%3Fx=1', 'Patient?identifier=x', 'http://x/fhir/Patient/1'],
];

/** The interaction the batch runs an entry request as (the names of the FHIR restful interactions). */
function interactionOf(r: EntryRequest): string {
  if (r.method === 'POST') return 'create';
  if (r.method === 'PUT') return 'update';
  if (r.method === 'DELETE') return 'delete';
  if (r.id === undefined) return 'search-type';
  return r.version === undefined ? 'read' : 'vread';
}

/** What the batch makes of `method url`: the interaction it runs, or the diagnostics of its 400. */
function batchReading(
  method: string,
  url: string,
): { runs?: string; type?: string; id?: string; refused?: string } {
  try {
    const { request } = readEntryRequest({ request: { method, url } }, 0);
    // What the audit log names it (its route's interaction) is what the batch runs it as.
    expect(request.interaction, `${method} ${url}`).toBe(interactionOf(request));
    return { runs: interactionOf(request), type: request.type, ...(request.id ? { id: request.id } : {}) };
  } catch (err) {
    if (!(err instanceof FhirError) || err.status !== 400) throw err;
    return { refused: err.outcome.issue?.[0]?.diagnostics };
  }
}

describe('a Kanta PHR batch entry', () => {
  it('runs only as the interaction the security front reads it as, on the same type and id', () => {
    const accepted: string[] = [];
    for (const method of ['GET', 'POST', 'PUT', 'DELETE'])
      for (const url of URLS) {
        const reading = batchReading(method, url);
        if (reading.refused) continue;
        accepted.push(`${method} ${url}`);
        const need = entryNeed(method, url);
        expect(need, `${method} ${url}`).toMatchObject({
          kind: 'fhir',
          interaction: reading.runs,
          type: reading.type,
        });
        expect(need && 'id' in need ? need.id : undefined, `${method} ${url}`).toBe(reading.id);
      }
    expect(accepted).toEqual([
      ...[
        'GET Patient',
        'GET /Patient',
        'GET Patient/',
        'GET //Patient//',
        'GET Patient?',
        'GET Patient?x=1',
      ],
      ...[
        'GET Patient/?x=1',
        'GET Patient/1',
        'GET Patient/1/',
        'GET Patient/1/_history/2',
        'GET Pat%69ent/1',
      ],
      'GET Patient?identifier=x',
      ...['POST Patient', 'POST /Patient', 'POST Patient/', 'POST //Patient//', 'POST Patient?'],
      ...['PUT Patient/1', 'PUT Patient/1/', 'PUT Pat%69ent/1', 'DELETE Patient/1', 'DELETE Patient/1/'],
      'DELETE Pat%69ent/1',
    ]);
  });

  it('is refused with the rule it breaks, never quoting the url', () => {
    expect(batchReading('POST', 'Patient/_search').refused).toBe(
      'kanta-batch: a POST entry is a create: request.url must be the resource type alone',
    );
    expect(batchReading('PUT', 'Patient?identifier=x').refused).toBe(
      'kanta-conditional: no conditional update in Kanta PHR',
    );
    expect(batchReading('DELETE', 'Patient?identifier=x').refused).toBe(
      'kanta-conditional: no conditional delete in Kanta PHR',
    );
    expect(batchReading('PUT', 'Patient/1/_history/2').refused).toBe(
      'kanta-batch: request.url of a PUT entry cannot name a version (_history)',
    );
    for (const url of ['Patient/1/$everything', 'Patient/a%2Fb', 'Patient/1?x=1', 'Patient/010181-900X/x'])
      expect(batchReading('GET', url).refused).toBe(
        'kanta-batch: request.url must be Type, Type/id, Type/id/_history/version or Type?query, as written',
      );
  });
});
