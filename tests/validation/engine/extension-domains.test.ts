// Extension domains an ImplementationGuide declares (`definition.parameter` code `extension-domain`):
// the IG Publisher gives them to the HL7 validator, which then takes an unknown extension under one of
// them with only a hint. Collected from every loaded package's ImplementationGuide, nothing written in.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { openPackage } from '../../../src/validation/packages.ts';
import { errors, patient } from './helpers.ts';

const FI_TGZ = join(process.cwd(), '..', 'shared', 'fhir-packages', 'hl7.fhir.fi.base-2.0.0-rc2.tgz');
const NO_FI = !existsSync(FI_TGZ);
const NEEDS_FI = NO_FI ? ' [skipped: needs hl7.fhir.fi.base-2.0.0-rc2.tgz in ../shared/fhir-packages]' : '';

const CANONICAL = 'https://ig.domains.test/fhir';
const DOMAIN = 'https://partner.domains.test/';
const tmp = mkdtempSync(join(tmpdir(), 'tyokyky-ext-domains-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A package whose ImplementationGuide declares DOMAIN; `indexed`: listed in `.index.json` (read lazily). */
function writePackage(name: string, indexed: boolean): string {
  const dir = join(tmp, name, 'package');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', canonical: CANONICAL }));
  const ig = {
    resourceType: 'ImplementationGuide',
    id: name,
    url: `${CANONICAL}/ImplementationGuide/${name}`,
    name: 'DomainsTest',
    status: 'draft',
    packageId: name,
    fhirVersion: ['4.0.1'],
    definition: {
      resource: [],
      parameter: [
        { code: 'copyrightyear', value: '2024+' },
        { code: 'extension-domain', value: DOMAIN },
      ],
    },
  };
  const file = `ImplementationGuide-${name}.json`;
  writeFileSync(join(dir, file), JSON.stringify(ig));
  if (indexed) {
    const files = [{ filename: file, resourceType: 'ImplementationGuide', id: name, url: ig.url }];
    writeFileSync(join(dir, '.index.json'), JSON.stringify({ 'index-version': 1, files }));
  }
  return join(tmp, name);
}

const issues = (oo: OperationOutcome) =>
  (oo.issue ?? []).map((i) => `${i.severity} | ${i.expression?.[0] ?? ''} | ${i.diagnostics}`);
const withExtension = (url: string, modifier = false) =>
  patient({ [modifier ? 'modifierExtension' : 'extension']: [{ url, valueString: 'a' }] });

describe('extension domains of a loaded ImplementationGuide', () => {
  let indexed: Validator;
  let unindexed: Validator;
  let without: Validator;
  beforeAll(async () => {
    indexed = await createValidator({ packages: [writePackage('domains.indexed', true)], fiBase: false });
    unindexed = await createValidator({ packages: [writePackage('domains.plain', false)], fiBase: false });
    without = await createValidator({ fiBase: false });
  });

  it('are collected when the package loads, listed in .index.json or not', () => {
    expect(indexed.registry.extensionDomains).toEqual([DOMAIN]);
    expect(unindexed.registry.extensionDomains).toEqual([DOMAIN]);
    expect(without.registry.extensionDomains).toEqual([]);
  });

  it('make an unknown extension under one of them information (the HL7 validator: a hint)', () => {
    const url = `${DOMAIN}fhir/StructureDefinition/not-defined-here`;
    for (const v of [indexed, unindexed]) {
      expect(issues(v.validate(withExtension(url)))).toEqual([
        `information | Patient.extension[0] | Unknown extension '${url}'`,
      ]);
    }
    // Without the IG nothing declares the domain: an error, as before.
    expect(errors(without.validate(withExtension(url)))).toEqual([
      `Patient.extension[0] | Unknown extension '${url}'`,
    ]);
  });

  it('leave other urls alone: outside every domain, and under the loaded package’s own base, an error', () => {
    const outside = 'https://elsewhere.domains.test/fhir/StructureDefinition/x';
    const own = `${CANONICAL}/StructureDefinition/typo`;
    expect(errors(indexed.validate(withExtension(outside)))).toEqual([
      `Patient.extension[0] | Unknown extension '${outside}'`,
    ]);
    // The definition would be in the loaded package if it existed (a typo): still an error.
    expect(errors(indexed.validate(withExtension(own)))).toEqual([
      `Patient.extension[0] | Unknown extension '${own}'`,
    ]);
  });

  it('an unknown modifierExtension there is a warning: it cannot be understood', () => {
    const url = `${DOMAIN}fhir/StructureDefinition/modifier`;
    expect(issues(indexed.validate(withExtension(url, true)))).toEqual([
      `warning | Patient.modifierExtension[0] | Unknown modifierExtension '${url}': it cannot be understood, so the resource cannot be processed safely`,
    ]);
  });

  it.skipIf(NO_FI)(
    `FI Base's own: its Appointment example's scheduling extension is information${NEEDS_FI}`,
    async () => {
      const v = await createValidator({ packages: [FI_TGZ] });
      expect(v.registry.extensionDomains).toEqual([
        'https://hl7.fi/',
        'http://hl7.fi/',
        'https://gen.kanta.fi/',
        'http://phr.kanta.fi/',
        'http://resepti.kanta.fi/',
      ]);
      const file = join(
        openPackage(FI_TGZ).dir,
        'example',
        'Appointment-appointment-general-practitioner.json',
      );
      const oo = v.validate(JSON.parse(readFileSync(file, 'utf8')));
      expect(errors(oo)).toEqual([]);
      expect(issues(oo)).toContain(
        "information | Appointment.extension[1] | Unknown extension 'https://hl7.fi/fhir/finnish-scheduling/StructureDefinition/mutable' (from https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/fi-base-appointment)",
      );
    },
  );
});
