import { describe, expect, it } from 'vitest';
import { parseIfMatch, versionFromEtag, weakEtag } from '../../src/shared/etag.ts';
import { FhirError } from '../../src/shared/outcome.ts';

describe('ETags and If-Match (src/shared/etag.ts, the one place they are spelled and read)', () => {
  it('weakEtag spells a version as FHIR does', () => {
    expect(weakEtag(3)).toBe('W/"3"');
    expect(weakEtag('12')).toBe('W/"12"');
  });

  it.each([
    ['W/"3"', 3],
    ['"3"', 3],
    [' W/"2147483647" ', 2_147_483_647],
  ])('parseIfMatch(%s) = %d, as a header and in the store API', (header, version) => {
    expect(parseIfMatch(header, { header: true })).toBe(version);
    expect(parseIfMatch(header)).toBe(version);
  });

  it('the store API also takes a version number as it is (its callers hand over a versionId); a header does not', () => {
    expect(parseIfMatch('3')).toBe(3);
    expect(() => parseIfMatch('3', { header: true })).toThrow(FhirError);
  });

  it.each([
    'W/"0"',
    'W/"2147483648"',
    'W/"abc"',
    '*',
    '',
    'W/"1", W/"2"',
    '"1", "1"',
    'W/1',
    '"1',
    'W/"1',
    '1"',
    'W/ "1"',
  ])('parseIfMatch(%j) is a 400 naming the If-Match header, as a header and in the store API', (header) => {
    for (const opts of [{ header: true }, {}]) {
      let error: unknown;
      try {
        parseIfMatch(header, opts);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FhirError);
      expect((error as FhirError).status).toBe(400);
      expect((error as FhirError).outcome.issue?.[0]).toMatchObject({
        diagnostics: 'If-Match must be one entity tag naming a version, W/"<versionId>" (or "<versionId>")',
        expression: ['If-Match'],
      });
    }
  });

  it("versionFromEtag reads a remote server's ETag leniently", () => {
    expect(versionFromEtag('W/"7"')).toBe('7');
    expect(versionFromEtag('"v-a1"')).toBe('v-a1');
    expect(versionFromEtag('9')).toBe('9');
    expect(versionFromEtag(undefined)).toBeUndefined();
    expect(versionFromEtag('')).toBeUndefined();
  });
});
