// The code lists the domain types are built from equal the CodeSystems/ValueSets of the profile package.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CODE_SYSTEM_OF, HELSINKI_REFERRER_ROLES, RESPONSIBLE_WORKER_KINDS } from '../../src/domain/index.ts';

function packageJson(file: string) {
  return JSON.parse(readFileSync(new URL(`../../profiles/package/${file}`, import.meta.url), 'utf8'));
}

describe('domain code lists = profile CodeSystems', () => {
  for (const [field, [id, codes]] of Object.entries(CODE_SYSTEM_OF)) {
    it(`${field} ↔ CodeSystem ${id}`, () => {
      const cs = packageJson(`CodeSystem-${id}.json`);
      expect(cs.url).toBe(`https://tyokyky-fhir.org/fhir/CodeSystem/${id}`);
      expect(cs.concept.map((c: { code: string }) => c.code).sort()).toEqual([...codes].sort());
    });
  }

  it('responsible-worker kinds = ValueSet responsible-worker-kind', () => {
    const vs = packageJson('ValueSet-responsible-worker-kind.json');
    const codes = vs.compose.include.flatMap((i: { concept?: { code: string }[] }) =>
      (i.concept ?? []).map((c) => c.code),
    );
    expect(codes.sort()).toEqual([...RESPONSIBLE_WORKER_KINDS].sort());
  });

  it('Helsinki referrer roles = ValueSet referral-requester-role', () => {
    const vs = packageJson('ValueSet-referral-requester-role.json');
    const codes = vs.compose.include.flatMap((i: { concept?: { code: string }[] }) =>
      (i.concept ?? []).map((c) => c.code),
    );
    expect(codes.sort()).toEqual([...HELSINKI_REFERRER_ROLES].sort());
  });
});
