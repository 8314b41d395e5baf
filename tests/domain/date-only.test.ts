// A domain date is a FHIR date to the day (year 0001–9999: FHIR has no year 0), and a birth date is not
// in the future whatever identifies the client (the rule the HETU's `future-date` states).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Client, domainIssues, makeHetu, parseHetu } from '../../src/domain/index.ts';

const temporary: Client = {
  id: 'c1',
  temporaryId: { system: 'urn:oid:1.2.246.10.1.2', value: 'T1' },
  name: { family: 'V', given: ['S'] },
};

afterEach(() => {
  vi.useRealTimers();
});

describe('DateOnly: FHIR date to the day, year 0001–9999', () => {
  it('refuses year 0000 in every date field, naming the field', () => {
    expect(
      domainIssues('client', { ...temporary, birthDate: '0000-01-01' }).map((i) => i.expression?.[0]),
    ).toEqual(['Client.birthDate']);
    const consent = {
      id: 'k1',
      clientId: 'c1',
      date: '0000-01-01',
      parties: ['kela'],
      dataClasses: ['support-plan'],
      period: { start: '0000-01-01' },
      organizationId: 'o1',
    };
    const issues = domainIssues('consent', consent);
    expect(issues.map((i) => i.expression?.[0])).toEqual(['Consent.date', 'Consent.period.start']);
    expect(issues[0]?.diagnostics).toBe(
      'Consent.date: must be a date YYYY-MM-DD with a year from 0001 to 9999 (schema pattern)',
    );
  });

  it('accepts years 0001 and 9999 as dates; a day that does not exist is still refused', () => {
    const team = (start: string) => ({
      id: 't',
      clientId: 'c',
      members: [{ professionalId: 'a', role: 'own-worker', period: { start } }],
    });
    expect(domainIssues('team', team('0001-01-01'))).toEqual([]);
    expect(domainIssues('team', team('9999-12-31'))).toEqual([]);
    expect(domainIssues('team', team('2026-02-30')).map((i) => i.expression?.[0])).toEqual([
      'ResponsibleWorkerTeam.members[0].period.start',
    ]);
  });
});

describe('future-date: a birth date is not in the future, whatever identifies the client', () => {
  it('refuses a temporary-id client born after today (the Finnish day), without quoting the date', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    // 21:30Z on 30 June is 00:30 on 1 July in Helsinki.
    vi.setSystemTime(new Date('2026-06-30T21:30:00Z'));
    const issues = domainIssues('client', { ...temporary, birthDate: '2026-07-02' });
    expect(issues.map((i) => [i.expression?.[0], i.diagnostics])).toEqual([
      ['Client.birthDate', 'future-date: Client.birthDate: the birth date is in the future'],
    ]);
    expect(domainIssues('client', { ...temporary, birthDate: '2026-07-01' })).toEqual([]);
    expect(domainIssues('client', { ...temporary, birthDate: '2099-01-01' })).toHaveLength(1);
  });

  it('the HETU carries the same rule (tyk-hetu-1, failure future-date)', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-30T21:30:00Z'));
    expect(parseHetu(makeHetu('2026-07-02', 905))).toMatchObject({ valid: false, failure: 'future-date' });
    expect(parseHetu(makeHetu('2026-07-01', 905)).valid).toBe(true);
  });
});
