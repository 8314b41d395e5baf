// Which responses pulled from Kanta PHR stay out of the professional view (src/sync/kanta/convert.ts):
// the citizen's restriction, and labels that cannot be read — what a remote sends is any JSON.
import { describe, expect, it } from 'vitest';
import { hiddenReason } from '../../src/sync/kanta/convert.ts';

const R = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };

describe('hiddenReason', () => {
  it.each([
    ['no labels', {}, undefined],
    ['other labels', { meta: { security: [{ ...R, code: 'N' }] } }, undefined],
    ['restricted', { meta: { security: [{ ...R, code: 'N' }, R] } }, /^restricted by the citizen/],
    ['labels not a list', { meta: { security: R } }, /^meta\.security is not a list of Codings/],
    ['a label not an object', { meta: { security: [null, R] } }, /^meta\.security is not a list of Codings/],
  ])('%s', (_name, resource, want) => {
    const reason = hiddenReason(resource as never);
    if (want === undefined) expect(reason).toBeUndefined();
    else expect(reason).toMatch(want);
  });
});
