// Client data never quoted in a refusal of domain input: an unknown key that holds a HETU (a letter
// century sign too, `p010105A9147`, which the field-name shape alone lets through) and a `kind` that
// is none of the domain kinds (it may be a HETU or a name) are not echoed.
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { domainIssues, recordIssues, validateDomain } from '../../src/domain/index.ts';
import { toResources } from '../../src/mapping/index.ts';

const NOT_QUOTED =
  'has a key that is not a known field (not quoted: it is not a field name) (schema additionalProperties)';

describe('an unknown key holding a HETU', () => {
  it.each(['p010105A9147', 'h010181Y900C'])(
    'shaped as a field name but holding a HETU (%s): the object holding it is named, the key not quoted',
    (key) => {
      const [issue] = domainIssues('client', { ...suvi.client, [key]: true });
      expect(issue).toMatchObject({
        code: 'structure',
        expression: ['Client'],
        diagnostics: `Client: ${NOT_QUOTED}`,
      });
      const [inRecord] = recordIssues({ ...suvi, client: { ...suvi.client, [key]: true } });
      expect(inRecord).toMatchObject({
        expression: ['WorkAbilityRecord.client'],
        diagnostics: `WorkAbilityRecord.client: ${NOT_QUOTED}`,
      });
      expect(JSON.stringify([issue, inRecord])).not.toContain(key.slice(1));
    },
  );

  it('a misspelt field is still named', () => {
    const [issue] = domainIssues('client', { ...suvi.client, hetU: 'x' });
    expect(issue).toMatchObject({ expression: ['Client.hetU'] });
  });
});

describe('a kind that is none of the domain kinds', () => {
  const KINDS =
    'kind must be one of client, organization, professional, assessment, selfAssessment, consent, plan, referral, team';
  it.each(['010181-900C', 'Suvi Virtanen', 'patient'])('%s is not quoted', (kind) => {
    const message = `${KINDS}; got a string that is none of them (not quoted: it may be client data)`;
    expect(() => toResources(kind as never, suvi.client as never)).toThrow(message);
    expect(() => validateDomain(kind as never, suvi.client)).toThrow(message);
    try {
      validateDomain(kind as never, suvi.client);
    } catch (e) {
      expect((e as Error).message).not.toContain(kind);
    }
  });

  it.each([
    [42, 'a number'],
    [null, 'null'],
    [undefined, 'undefined'],
  ])('%s is named by its type', (kind, what) => {
    expect(() => validateDomain(kind as never, suvi.client)).toThrow(`${KINDS}; got ${what}`);
  });
});
