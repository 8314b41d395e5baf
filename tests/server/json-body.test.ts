import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../src/server/http/json-body.ts';
import { findDuplicateKey } from '../../src/shared/json-keys.ts';
import { FhirError } from '../../src/shared/outcome.ts';

describe('duplicate JSON property names', () => {
  it('finds a repeat in any object, also spelled with escapes, and ignores repeats across objects', () => {
    expect(findDuplicateKey('{"a":1,"b":{"a":2}}')).toBeUndefined();
    expect(findDuplicateKey('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(findDuplicateKey('{"a":"x\\"a\\":","b":1}')).toBeUndefined();
    expect(findDuplicateKey('{"b":{"c":1, "c" :2}}')?.name).toBe('c');
    expect(findDuplicateKey('{"a":1,"\\u0061":2}')?.name).toBe('a');
  });

  it('parseJsonBody refuses it with a 400 naming the key', () => {
    const err = (() => {
      try {
        parseJsonBody('{"resourceType":"Patient","gender":"male","gender":"female"}', { maxDepth: 10 });
      } catch (e) {
        return e as FhirError;
      }
    })();
    expect(err).toBeInstanceOf(FhirError);
    expect(err?.status).toBe(400);
    expect(err?.outcome.issue?.[0].expression).toEqual(['gender']);
  });
});
