// `tyokyky load` posts a resource to `<base>/<resourceType>`: a resourceType that is no resource type
// name (a path, a query) is that file's failure, never a request to some other URL of the facade.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFile } from '../../src/cli/load/files.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-load-type-'));
const received: string[] = [];
const facade = createServer((req, res) => {
  received.push(`${req.method} ${req.url}`);
  res.writeHead(201, { 'content-type': 'application/fhir+json' });
  res.end(JSON.stringify({ resourceType: 'Practitioner', id: 'new' }));
});
let url = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => facade.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(facade.address() as AddressInfo).port}/fhir`;
});
beforeEach(() => {
  received.length = 0;
});
afterAll(async () => {
  await new Promise((resolve) => facade.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const identifier = [{ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:00000000-0000-4000-8000-000000000001' }];

describe('the resourceType a file names is a resource type name, or nothing is sent', () => {
  it.each([
    '../api/sync/retry',
    'Practitioner/../../api',
    'Patient?_id=1',
    'patient',
    'Pat ient',
    'Pätient',
    '',
  ])('resourceType %j → the file fails unsent, the value not quoted', async (resourceType) => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ resourceType, identifier }));
    const r = await loadFile(file, url);
    expect(r).toMatchObject({ ok: false, status: 0 });
    expect(r.summary).toMatch(/^not a FHIR resource or Bundle: the file holds an object /);
    if (resourceType) expect(r.summary).not.toContain(resourceType);
    expect(received).toEqual([]);
  });

  it('a resource type name is posted to its type', async () => {
    const file = join(dir, 'good.json');
    writeFileSync(file, JSON.stringify({ resourceType: 'Practitioner', identifier }));
    expect(await loadFile(file, url)).toMatchObject({ ok: true, status: 201 });
    expect(received).toEqual(['POST /fhir/Practitioner']);
  });
});
