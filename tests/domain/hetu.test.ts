import { describe, expect, it, vi } from 'vitest';
import {
  SEX_NEUTRAL_FROM,
  checkHetuFormat,
  hetuCheckCharacter,
  makeHetu,
  maskHetus,
  parseHetu,
} from '../../src/domain/index.ts';
import cases from '../fixtures/hetu-cases.json' with { type: 'json' };

describe('parseHetu on the shared case table', () => {
  for (const c of cases.cases) {
    it(`${JSON.stringify(c.hetu)}: ${c.why}`, () => {
      const r = parseHetu(c.hetu);
      expect(r.valid).toBe(c.valid);
      if (!r.valid) {
        expect(r.failure).toBe(c.failure);
        expect(r.reason.length).toBeGreaterThan(5);
      } else {
        if ('birthDate' in c) expect(r.value.birthDate).toBe(c.birthDate);
        if ('temporary' in c) expect(r.value.temporary).toBe(c.temporary);
      }
    });
  }
});

describe('HETU details', () => {
  it('names the wrong check character but not the right one, nor the date (reasons reach error messages)', () => {
    expect(parseHetu('010181-900D')).toMatchObject({
      valid: false,
      failure: 'check-character',
      reason: "check character 'D' does not match the rest of the code",
    });
    expect(parseHetu('310295-902S')).toMatchObject({
      valid: false,
      failure: 'date',
      reason: 'the date it carries is not a calendar date',
    });
  });

  it('maskHetus hides every HETU-shaped part of a text, valid or not, and nothing else', () => {
    expect(maskHetus("The value '131052-308T' is not a valid date")).toBe(
      "The value '[HETU]' is not a valid date",
    );
    expect(maskHetus('a 010181-900C and 250675Y906J, a typo 010181-900D')).toBe(
      'a [HETU] and [HETU], a typo [HETU]',
    );
    // Glued to letters before it (a parameter's name, an id's prefix) it is still a person's, and so
    // it is before a sign or space; glued to more digits it is another number, glued to letters after
    // its check character it is a run of hex or code (a hash, an id), and a UUID's hex that has a
    // HETU's shape is kept.
    for (const [text, masked] of [
      ['x131052-308T', 'x[HETU]'],
      ['131052-308T.x', '[HETU].x'],
      ['name010181-900C=1', 'name[HETU]=1'],
      ['Patient/obs_010181-900C_b', 'Patient/obs_[HETU]_b'],
      ['c050574-901D', 'c[HETU]'],
      // Letters glued before and the end of the text after: masked, whatever the letters (a code masked
      // in a message costs its reader a little; a HETU shown costs its person more).
      ['id AB123456A789B', 'id AB[HETU]'],
    ])
      expect(maskHetus(text as string), text).toBe(masked);
    for (const text of [
      'Patient/1131052-308T',
      '131052-308T5',
      '131052-308Tx',
      'Patient/obs_010181-900Cb',
      'hash 4E010181A900CABC1234',
      'id AB123456A789BC',
      'key 010181-900CX',
      '2026-02-17',
      '4e010181-9001-4abc-8def-0123456789ab',
      '4E010181-9001-4ABC-8DEF-0123456789AB',
      'Observation/ab4e010181-9001-4abc-8def-0123456789ab',
      // A HETU's shape inside a UUID's is the UUID's hex (the UUID is kept whole).
      '00010181-900c-4abc-8def-0123456789ab',
    ])
      expect(maskHetus(text), text).toBe(text);
  });

  it('maskHetus finds a HETU whose century sign is written in lower case, as its check character', () => {
    for (const [text, masked] of [
      ['010105a900b', '[HETU]'],
      ['lower sign 010105a900b', 'lower sign [HETU]'],
      ['a 250675y906j', 'a [HETU]'],
      ['x010105A900b and 010105a900B', 'x[HETU] and [HETU]'],
      ['/fhir/Patient/010105a900B/_history', '/fhir/Patient/[HETU]/_history'],
    ])
      expect(maskHetus(text as string), text).toBe(masked);
    // Lower-case hex with such a part inside is a hash, not a HETU.
    for (const text of ['4e010181a900cabc1234', 'deadbeef010105a900b1', 'sha 0a010105a900bcd'])
      expect(maskHetus(text), text).toBe(text);
  });

  it('maskHetus finds a HETU whose check character is written in lower case (not a valid value, still a person)', () => {
    expect(checkHetuFormat('010181-900c').valid).toBe(false);
    for (const [text, masked] of [
      ['010181-900c', '[HETU]'],
      ["The value '131052-308t' is not a valid date", "The value '[HETU]' is not a valid date"],
      ['a 250675Y906j and 010181-9001', 'a [HETU] and [HETU]'],
      ['/fhir/Patient/010181%2D900c', '/fhir/Patient/[HETU]'],
      ['/fhir/Patient/010181%2d900c/_history', '/fhir/Patient/[HETU]/_history'],
    ])
      expect(maskHetus(text as string), text).toBe(masked);
    expect(maskHetus('x010181-900c and 010181-900c, 010181-900cd')).toBe('x[HETU] and [HETU], 010181-900cd');
    // A UUID's lower-case hex is no HETU.
    for (const text of ['123e4567-e89b-12d3-a456-426614174000', '550e8400-e29b-41d4-a716-446655440000'])
      expect(maskHetus(text), text).toBe(text);
  });

  it('maskHetus finds a HETU written with percent-escapes (a URL path), however often encoded', () => {
    const encoded = [...'131052-308T'].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    for (const [text, masked] of [
      ['/fhir/Patient/131052%2D308T', '/fhir/Patient/[HETU]'],
      ['/fhir/Patient/131052%2d308T/x', '/fhir/Patient/[HETU]/x'],
      [`/p/${encoded}`, '/p/[HETU]'],
      ['/p/131052%25252D308T', '/p/[HETU]'],
      // A malformed escape or bytes that are no UTF-8 stay readable around the mask.
      ['/p/%E0%A4%A/131052%2D308T%', '/p/\ufffd%A/[HETU]%'],
      ['No route for GET /api/clients/131052%2D308T/x', 'No route for GET /api/clients/[HETU]/x'],
      // Once decoding shows a HETU, the decoded text is what is shown, masked.
      ['x%2D131052-308T', 'x-[HETU]'],
      ['/p/131052%2525252525252D308T', '[text percent-encoded more than 4 times, withheld]'],
    ])
      expect(maskHetus(text as string), text).toBe(masked);
    // Escapes that hide no HETU: the text as it was (what an operator matches against an access log).
    for (const text of ['/fhir/Practitioner/a%2Db', '50 % of 131052', '/p/%E0%A4%A'])
      expect(maskHetus(text), text).toBe(text);
  });

  it('names the part that breaks the shape, never echoing the code', () => {
    expect(checkHetuFormat('010181-900c')).toEqual({
      valid: false,
      failure: 'check-character',
      reason: "check character 'c' is not one of 0–9 and A–Y without G, I, O, Q and Z",
    });
    expect(checkHetuFormat('010181-900Z').failure).toBe('check-character');
    // G, I, O and Q fit the shape's letter range but are never check characters: said so, not "does not match".
    for (const c of ['G', 'I', 'O', 'Q'])
      expect(checkHetuFormat(`010181-900${c}`), c).toEqual({
        valid: false,
        failure: 'check-character',
        reason: `check character '${c}' is not one of 0–9 and A–Y without G, I, O, Q and Z`,
      });
    expect(checkHetuFormat('010181-001H').reason).toBe('the individual number is not issued (002–999)');
    expect(checkHetuFormat('010181G900C')).toMatchObject({
      failure: 'century-sign',
      reason: "century sign 'G' is not one of + - Y X W V U A B C D E F",
    });
    const short = checkHetuFormat('010181-90C');
    expect(short).toEqual({
      valid: false,
      failure: 'format',
      reason: 'not of the form DDMMYYCZZZQ (11 characters)',
    });
    expect(short.reason).not.toContain('010181');
  });

  it('reports the impossible date', () => {
    expect(parseHetu('290200-902D')).toMatchObject({
      valid: false,
      failure: 'date',
      reason: 'the date it carries is not a calendar date',
    });
  });

  it('reads sex from the parity of the individual number before the reform', () => {
    const odd = parseHetu(makeHetu('1981-01-01', 901));
    const even = parseHetu(makeHetu('1981-01-01', 902));
    expect(odd.valid && odd.value.sex).toBe('male');
    expect(even.valid && even.value.sex).toBe('female');
    expect(even.valid && even.value.sexReason).toContain('even');
  });

  it('does not read sex from codes of people born from 2027 (sex-neutral codes)', () => {
    // Born in 2027 is in the future until then (and no such code exists yet): judged on a day after it.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2027-06-01T12:00:00Z'));
      const r = parseHetu(makeHetu('2027-03-01', 901));
      expect(r.valid).toBe(true);
      if (r.valid) {
        expect(r.value.sex).toBeUndefined();
        expect(r.value.sexReason).toContain(SEX_NEUTRAL_FROM);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a code whose birth date is in the future, without quoting it', () => {
    const tomorrow = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const hetu = makeHetu(tomorrow, 905);
    const r = parseHetu(hetu);
    expect(r).toEqual({
      valid: false,
      failure: 'future-date',
      reason: 'the birth date it carries is in the future',
    });
  });

  it('does not read sex from codes issued after the reform to people born earlier', () => {
    const r = parseHetu(makeHetu('1990-05-05', 903), { issuedOn: '2027-06-01' });
    expect(r.valid && r.value.sex).toBeUndefined();
    const before = parseHetu(makeHetu('1990-05-05', 903), { issuedOn: '2026-12-31' });
    expect(before.valid && before.value.sex).toBe('male');
  });

  it('detects temporary/test codes 900–999', () => {
    const test = parseHetu('010181-900C');
    const ordinary = parseHetu('131052-308T');
    expect(test.valid && test.value.temporary).toBe(true);
    expect(test.valid && test.reason).toContain('temporary/test');
    expect(ordinary.valid && ordinary.value.temporary).toBe(false);
  });

  it('makeHetu picks the default century sign and rejects one that does not fit', () => {
    expect(makeHetu('1850-05-15', 912)).toBe('150550+9121');
    expect(makeHetu('2010-12-24', 934)).toBe('241210A934V');
    expect(makeHetu('1995-03-12', 902, 'Y')).toBe('120395Y902S');
    expect(() => makeHetu('1995-03-12', 902, 'A')).toThrow(/century sign A does not fit 1995/);
  });

  it('computes the check character as DDMMYYZZZ mod 31', () => {
    expect(hetuCheckCharacter('131052', '308')).toBe('T');
    expect(checkHetuFormat('131052-308T').valid).toBe(true);
  });
});
