// The Patient examples carry the HETU their FSH description and narrative name: system
// urn:oid:1.2.246.21, use official, type NNFIN, with the value the narrative shows; NNFIN types the HETU
// only (a temporary identifier or a urn:uuid typed NNFIN would read as a HETU to FI Base's slicing).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Json, ROOT, examples } from './fixtures.ts';

const HETU_SYSTEM = 'urn:oid:1.2.246.21';
/** DDMMYY, century sign, individual number, check character (tyk-hetu-1 checks the rest). */
const HETU_IN_TEXT = /\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b/g;
const FSH = join(ROOT, 'profiles', 'input', 'fsh');

const patients = examples().filter((e) => e.resource.resourceType === 'Patient');
const isNnfin = (i: Json) =>
  (i.type?.coding ?? []).some(
    (c: Json) => c.system === 'http://terminology.hl7.org/CodeSystem/v2-0203' && c.code === 'NNFIN',
  );
const hetusOf = (r: Json) =>
  (r.identifier ?? []).filter((i: Json) => i.system === HETU_SYSTEM).map((i: Json) => i.value as string);

/** FSH Patient instances: id → Description. */
function fshPatientDescriptions(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(FSH).filter((x) => x.startsWith('examples-') && x.endsWith('.fsh'))) {
    for (const block of readFileSync(join(FSH, f), 'utf8').split(/^(?=Instance: )/m)) {
      const id = /^Instance: (\S+)/.exec(block)?.[1];
      if (!id || !/^InstanceOf: TyokykyPatient$/m.test(block)) continue;
      out.set(id, /^Description: "(.*)"$/m.exec(block)?.[1] ?? '');
    }
  }
  return out;
}

describe('Patient examples', () => {
  it('carry every HETU their narrative names as the official NNFIN identifier of urn:oid:1.2.246.21', () => {
    let named = 0;
    for (const { name, resource } of patients) {
      const inText = [...new Set(String(resource.text?.div ?? '').match(HETU_IN_TEXT) ?? [])];
      for (const hetu of inText) {
        named++;
        const id = (resource.identifier ?? []).find(
          (i: Json) => i.system === HETU_SYSTEM && i.value === hetu,
        );
        expect(id, `${name}: the narrative names HETU ${hetu}`).toBeDefined();
        expect(id.use, `${name} ${hetu} use`).toBe('official');
        expect(isNnfin(id), `${name} ${hetu} typed NNFIN`).toBe(true);
      }
      // And no HETU the narrative does not show.
      expect(hetusOf(resource).sort(), name).toEqual(inText.sort());
    }
    expect(named).toBeGreaterThanOrEqual(6);
  });

  it('carry a HETU where their FSH description says so', () => {
    const described = fshPatientDescriptions();
    expect(described.size).toBeGreaterThanOrEqual(3);
    for (const [id, description] of described) {
      if (!/\bHETU\b/.test(description)) continue;
      const file = `profiles/package/example/Patient-${id}.json`;
      const example = patients.find((p) => p.name === file);
      expect(example, file).toBeDefined();
      expect(hetusOf(example!.resource), `${file}: "${description}"`).toHaveLength(1);
    }
  });

  it('type only the HETU as NNFIN', () => {
    for (const { name, resource } of patients) {
      (resource.identifier ?? []).forEach((i: Json, n: number) => {
        if (i.system !== HETU_SYSTEM)
          expect(isNnfin(i), `${name} identifier[${n}] (${i.system})`).toBe(false);
      });
    }
  });

  it("keep suvi's temporary identifier and urn:uuid beside her HETU (the maximal example)", () => {
    const suvi = patients.find((p) => p.name === 'profiles/package/example/Patient-suvi.json')!.resource;
    expect(suvi.identifier.map((i: Json) => [i.use, i.system])).toEqual([
      ['official', HETU_SYSTEM],
      ['temp', 'urn:oid:1.2.246.10.1234567.10.1'],
      [undefined, 'urn:ietf:rfc:3986'],
    ]);
  });
});
