// Smaller rules of the validator parity issue that need data too large for a case file.
import { describe, expect, it } from 'vitest';
import { errors, patient, validator } from './helpers.ts';

describe('strings over 1 MB', () => {
  it('a string of exactly 1 MB is fine; one character more is an error naming the limit', async () => {
    const v = await validator();
    const limit = 1024 * 1024;
    expect(errors(v.validate(patient({ name: [{ text: 'a'.repeat(limit) }] })))).toEqual([]);
    expect(errors(v.validate(patient({ name: [{ text: 'a'.repeat(limit + 1) }] })))).toEqual([
      `Patient.name[0].text | HumanName.text: the value is longer than the permitted maximum of 1 MB (${limit} characters)`,
    ]);
  });
});

describe('unknownExtensions option', () => {
  const resource = patient({
    extension: [{ url: 'https://unknown.invalid/fhir/StructureDefinition/x', valueString: 'a' }],
  });
  it("'error' makes every unknown extension outside the example domains an error", async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    const strict = await createValidator({ fiBase: false, unknownExtensions: 'error' });
    expect(errors(strict.validate(resource))).toEqual([
      "Patient.extension[0] | Unknown extension 'https://unknown.invalid/fhir/StructureDefinition/x'",
    ]);
    const example = patient({ extension: [{ url: 'http://example.org/x', valueString: 'a' }] });
    expect(errors(strict.validate(example))).toEqual([]);
  });
  it("'auto' (default) warns when the defining package is not loaded", async () => {
    expect(errors((await validator()).validate(resource))).toEqual([]);
  });
});
