import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { bodyJson, parseJsonBody, requestJsonAhead } from '../../src/server/http/json-body.ts';
import { scanJsonText, writtenNumber } from '../../src/shared/json-text.ts';
import { FhirError } from '../../src/shared/outcome.ts';

const duplicateIn = (text: string) => scanJsonText(text, JSON.parse(text)).duplicate;

describe('duplicate JSON property names', () => {
  it('finds a repeat in any object, also spelled with escapes, and ignores repeats across objects', () => {
    expect(duplicateIn('{"a":1,"b":{"a":2}}')).toBeUndefined();
    expect(duplicateIn('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(duplicateIn('{"a":"x\\"a\\":","b":1}')).toBeUndefined();
    expect(duplicateIn('{"b":{"c":1, "c" :2}}')?.name).toBe('c');
    expect(duplicateIn('{"a":1,"\\u0061":2}')?.name).toBe('a');
    // A string ending in an escaped backslash ends at the next quote.
    expect(duplicateIn('{"a":"x\\\\","a":1}')?.name).toBe('a');
    expect(duplicateIn('{"a":"x\\\\\\"","b":1}')).toBeUndefined();
  });

  it('parseJsonBody refuses it with a 400 naming the repeated element as a FHIRPath location', () => {
    const refusal = (text: string) => {
      try {
        parseJsonBody(text, { maxDepth: 10 });
      } catch (e) {
        return e as FhirError;
      }
    };
    const top = refusal('{"resourceType":"Patient","gender":"male","gender":"female"}');
    expect(top).toBeInstanceOf(FhirError);
    expect(top?.status).toBe(400);
    expect(top?.outcome.issue?.[0].expression).toEqual(['Patient.gender']);
    const nested = refusal(
      '{"resourceType":"Practitioner","name":[{"family":"a"},{"given":["x", "y"],"family":"a","family":"b"}]}',
    );
    expect(nested?.outcome.issue?.[0].expression).toEqual(['Practitioner.name[1].family']);
    // Commas and brackets inside strings and escaped names do not move the location.
    const escaped = refusal(
      '{"resourceType":"Bundle","entry":[{"fullUrl":"a,[b]"},{"resource":{"\\u0061":1,"a":2}}]}',
    );
    expect(escaped?.outcome.issue?.[0].expression).toEqual(['Bundle.entry[1].resource.a']);
  });
});

describe('whole numbers written with a fraction or exponent', () => {
  const read = (text: string) => {
    const value = JSON.parse(text);
    scanJsonText(text, value);
    return value;
  };

  it('are remembered against the object or array holding them, with the text as written', () => {
    const v = read(
      '{"a":1.0,"b":[1, 2e0 ,3.5],"c":{"d":-0.0,"e":"7.0"},"f":[[1E2]],"g":10,"h":1.5,"i":true,"j":null}',
    );
    expect(writtenNumber(v, 'a')).toBe('1.0');
    expect(writtenNumber(v.b, 1)).toBe('2e0');
    expect(writtenNumber(v.b, 0)).toBeUndefined();
    expect(writtenNumber(v.b, 2)).toBeUndefined(); // not whole: a value the validator judges as such
    expect(writtenNumber(v.c, 'd')).toBe('-0.0');
    expect(writtenNumber(v.c, 'e')).toBeUndefined(); // a string
    expect(writtenNumber(v.f[0], 0)).toBe('1E2');
    expect(writtenNumber(v, 'g')).toBeUndefined();
    expect(writtenNumber(v, 'h')).toBeUndefined();
  });

  it('finds each under its own name after escaped names, strings holding digits and commas, and arrays of objects', () => {
    const v = read('{"x\\"y":"1.0, [2.0]","\\u0061":[{"n":3.0},{"n":4}],"z":5.00}');
    expect(writtenNumber(v, 'a')).toBeUndefined();
    expect(writtenNumber(v.a[0], 'n')).toBe('3.0');
    expect(writtenNumber(v.a[1], 'n')).toBeUndefined();
    expect(writtenNumber(v, 'z')).toBe('5.00');
  });

  it('a parse of the same text into another value remembers nothing for the first', () => {
    const text = '{"a":1.0}';
    const other = JSON.parse(text);
    expect(writtenNumber(other, 'a')).toBeUndefined();
    expect(writtenNumber(read(text), 'a')).toBe('1.0');
  });
});

describe('a hostile body', () => {
  it('deeply nested and full of numbers written 1.0 is refused for its depth (the scan keeps no path per number)', () => {
    // 240 KB: 20,000 levels around 50,000 numbers. A path kept per number would be 10^9 entries.
    const text = `${'['.repeat(20_000)}${'1.0,'.repeat(50_000)}1.0${']'.repeat(20_000)}`;
    let refused: FhirError | undefined;
    try {
      parseJsonBody(text, { maxDepth: 64 });
    } catch (e) {
      refused = e as FhirError;
    }
    expect(refused).toBeInstanceOf(FhirError);
    expect(refused?.status).toBe(400);
    expect(refused?.outcome.issue?.[0]?.diagnostics).toBe(
      'Request body nests deeper than the limit of 64 levels',
    );
  });
});

describe('a body read ahead of its handler', () => {
  const request = (text: string, type = 'application/fhir+json') =>
    ({ body: Buffer.from(text), headers: { 'content-type': type } }) as unknown as Request;

  it('is parsed once: the handler takes the value the security front read, once, and only with the same limits', () => {
    const req = request('{"resourceType":"Bundle","type":"transaction"}');
    const ahead = requestJsonAhead(req, { maxDepth: 10 }, 'a Bundle');
    const type = req.headers['content-type'];
    expect(bodyJson(req.body, type, { maxDepth: 10 }, 'a Bundle')).toBe(ahead);
    const again = bodyJson(req.body, type, { maxDepth: 10 }, 'a Bundle');
    expect(again).not.toBe(ahead);
    expect(again).toEqual(ahead);
    const other = request('{"resourceType":"Bundle"}');
    const kept = requestJsonAhead(other, { maxDepth: 10 }, 'a Bundle');
    expect(bodyJson(other.body, type, { maxDepth: 3 }, 'a Bundle')).not.toBe(kept);
    expect(bodyJson(other.body, 'application/json', { maxDepth: 10 }, 'a Bundle')).not.toBe(kept);
  });
});
