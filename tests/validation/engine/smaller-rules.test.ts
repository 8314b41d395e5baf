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
