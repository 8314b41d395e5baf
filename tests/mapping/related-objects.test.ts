// An object mapped alone with the objects it relates to (`related`) becomes the resources
// it would in a record: a consent's receiving organisations, a team's professionals' names.
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { toFhir, toResources } from '../../src/mapping/index.ts';

const inRecord = (type: string) =>
  (toFhir(suvi).entry ?? []).map((e) => e.resource as Resource).find((r) => r.resourceType === type);

describe('an object alone, given what a record would hold', () => {
  it("a consent names the record's organisations for its parties", () => {
    const [consent] = toResources('consent', suvi.consents![0]!, {
      related: { organizations: suvi.organizations },
    });
    expect(consent).toEqual(inRecord('Consent'));
    // Without them, each actor shows its party's name.
    const [bare] = toResources('consent', suvi.consents![0]!);
    expect(
      (bare as { provision: { actor: { reference: unknown }[] } }).provision.actor[2]?.reference,
    ).toEqual({
      display: 'Kela',
    });
  });

  it("a team's narrative names its professionals as the record's does", () => {
    const [team] = toResources('team', suvi.teams![0]!, { related: { professionals: suvi.professionals } });
    expect(team).toEqual(inRecord('CareTeam'));
    expect(() =>
      toResources('team', suvi.teams![0]!, { validate: false, related: { professionals: 1 } as never }),
    ).toThrow(TypeError);
  });
});
