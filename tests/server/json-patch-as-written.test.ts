// A JSON Patch keeps numbers as they were written (src/shared/json-text.ts): those of the stored
// resource it does not touch (`1e400`, `12345678901234567890`, `1.50` stay byte for byte), and those
// the patch document writes (`2.50` is stored as `2.50`), wherever the operations move them.
import type { Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { applyJsonPatch } from '../../src/server/fhir/json-patch.ts';
import { parseJsonBody } from '../../src/server/http/json-body.ts';
import { parseAsWritten, stringifyAsWritten } from '../../src/shared/json-text.ts';
import { appPerSuite } from './helpers.ts';

const FHIR = 'application/fhir+json';
const JSON_PATCH = 'application/json-patch+json';
const suite = appPerSuite({ strict: false });

/** A new Observation whose valueQuantity.value is written `value`; its id. */
async function observation(value: string): Promise<string> {
  const res = await request(suite.app)
    .post('/fhir/Observation')
    .set('Content-Type', FHIR)
    .send(
      `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":${value},"unit":"h"}}`,
    );
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** The JSON text the store keeps for the Observation. */
const stored = async (id: string) => (await suite.fx.store.readJson('Observation', id)).json;
const quantity = (json: string) => /"valueQuantity":\{[^}]*\}/.exec(json)?.[0];

/** A PATCH with the JSON Patch document as written (its numbers' text is the point). */
const patch = (id: string, ops: string, version = '1') =>
  request(suite.app)
    .patch(`/fhir/Observation/${id}`)
    .set({ 'Content-Type': JSON_PATCH, 'If-Match': `W/"${version}"` })
    .send(ops);

describe('PATCH keeps numbers as written', () => {
  for (const value of ['1e400', '12345678901234567890', '1.50']) {
    it(`a patch of /status leaves ${value} byte for byte`, async () => {
      const id = await observation(value);
      const before = await stored(id);
      expect(quantity(before)).toBe(`"valueQuantity":{"value":${value},"unit":"h"}`);
      const res = await patch(id, '[{"op":"replace","path":"/status","value":"amended"}]');
      expect(res.status, res.text).toBe(200);
      expect(quantity(res.text)).toBe(`"valueQuantity":{"value":${value},"unit":"h"}`);
      const after = await stored(id);
      expect(after).toContain('"status":"amended"');
      expect(quantity(after)).toBe(quantity(before));
    });

    it(`a patch writing 2.50 over ${value} stores 2.50`, async () => {
      const id = await observation(value);
      const res = await patch(id, '[{"op":"replace","path":"/valueQuantity/value","value":2.50}]');
      expect(res.status, res.text).toBe(200);
      expect(quantity(await stored(id))).toBe('"valueQuantity":{"value":2.50,"unit":"h"}');
    });
  }
});

describe('applyJsonPatch keeps numbers as written wherever an operation takes them', () => {
  const DOC =
    '{"resourceType":"Observation","id":"o","status":"final","valueQuantity":{"value":1.50},' +
    '"component":[{"valueQuantity":{"value":1e400}},{"valueQuantity":{"value":2.0}}],"list":[1.10,2.20,3]}';
  /** The patched document's text: `ops` is read as a request body is. */
  const apply = (ops: string, doc = DOC) =>
    stringifyAsWritten(applyJsonPatch(parseAsWritten(doc) as Resource, parseJsonBody(ops, { maxDepth: 64 })));

  it('replace and add write the number as the patch wrote it; a number replaced is written anew', () => {
    expect(apply('[{"op":"replace","path":"/valueQuantity/value","value":3}]')).toContain(
      '"valueQuantity":{"value":3}',
    );
    expect(apply('[{"op":"add","path":"/valueQuantity","value":{"value":0.50,"unit":"h"}}]')).toContain(
      '"valueQuantity":{"value":0.50,"unit":"h"}',
    );
    // A value the patch added, changed by a later operation, is written as that one wrote it.
    expect(
      apply(
        '[{"op":"add","path":"/valueQuantity","value":{"value":0.50}},{"op":"replace","path":"/valueQuantity/value","value":7}]',
      ),
    ).toContain('"valueQuantity":{"value":7}');
    expect(apply('[{"op":"replace","path":"/list/2","value":4.0}]')).toContain('"list":[1.10,2.20,4.0]');
  });

  it('array indexes shift with an add or a remove', () => {
    expect(apply('[{"op":"add","path":"/list/0","value":0.10}]')).toContain('"list":[0.10,1.10,2.20,3]');
    expect(apply('[{"op":"add","path":"/list/-","value":4.40}]')).toContain('"list":[1.10,2.20,3,4.40]');
    expect(apply('[{"op":"remove","path":"/list/0"}]')).toContain('"list":[2.20,3]');
    expect(apply('[{"op":"remove","path":"/component/0"}]')).toContain(
      '"component":[{"valueQuantity":{"value":2.0}}]',
    );
    expect(apply('[{"op":"add","path":"/component/0","value":{"valueQuantity":{"value":9.90}}}]')).toContain(
      '"component":[{"valueQuantity":{"value":9.90}},{"valueQuantity":{"value":1e400}},{"valueQuantity":{"value":2.0}}]',
    );
  });

  it('move and copy take the numbers with them (1e400 is not lost to a JSON round trip)', () => {
    const moved = apply('[{"op":"move","from":"/component/0/valueQuantity","path":"/valueQuantity"}]');
    expect(moved).toContain('"valueQuantity":{"value":1e400}');
    expect(moved).toContain('"component":[{},{"valueQuantity":{"value":2.0}}]');
    expect(apply('[{"op":"move","from":"/list/0","path":"/list/-"}]')).toContain('"list":[2.20,3,1.10]');
    const copied = apply('[{"op":"copy","from":"/component/0","path":"/component/-"}]');
    expect(copied).toContain(
      '"component":[{"valueQuantity":{"value":1e400}},{"valueQuantity":{"value":2.0}},{"valueQuantity":{"value":1e400}}]',
    );
    expect(apply('[{"op":"copy","from":"/list/1","path":"/list/0"}]')).toContain('"list":[2.20,1.10,2.20,3]');
  });

  it('a test compares values (1.5 is 1.50); replacing the whole document writes its numbers as written', () => {
    expect(apply('[{"op":"test","path":"/valueQuantity/value","value":1.5}]')).toContain(
      '"valueQuantity":{"value":1.50}',
    );
    expect(
      apply(
        '[{"op":"replace","path":"","value":{"resourceType":"Observation","id":"o","valueQuantity":{"value":5.50}}}]',
      ),
    ).toBe('{"resourceType":"Observation","id":"o","valueQuantity":{"value":5.50}}');
  });

  it('leaves the resource it was given as it was', () => {
    const current = parseAsWritten(DOC) as Resource;
    applyJsonPatch(
      current,
      parseJsonBody('[{"op":"replace","path":"/valueQuantity/value","value":3}]', { maxDepth: 64 }),
    );
    expect(stringifyAsWritten(current)).toBe(DOC);
  });
});
