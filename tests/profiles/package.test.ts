import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CANONICAL, type Json, PACKAGE, ROOT, conformance, profiles, readJson } from './fixtures.ts';

const FI = 'https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition';
const R4 = 'http://hl7.org/fhir/StructureDefinition';
// DEVELOPERS.md: id → parent
const PROFILES: Record<string, string> = {
  'tyokyky-patient': `${FI}/fi-base-patient`,
  'tyokyky-practitioner-role': `${FI}/fi-base-practitioner-role`,
  'tyokyky-organization': `${FI}/fi-base-organization`,
  'tyokyky-work-ability-score': `${FI}/fi-base-observation`,
  'tyokyky-work-ability-assessment': `${FI}/fi-base-observation`,
  'tyokyky-self-assessment': `${R4}/Questionnaire`,
  'tyokyky-self-assessment-response': `${R4}/QuestionnaireResponse`,
  'tyokyky-consent': `${R4}/Consent`,
  'tyokyky-support-plan': `${R4}/CarePlan`,
  'tyokyky-goal': `${R4}/Goal`,
  'tyokyky-referral': `${R4}/ServiceRequest`,
  'tyokyky-responsible-worker-team': `${R4}/CareTeam`,
};
const CODE_SYSTEMS = [
  'record-view',
  'work-ability-observation',
  'work-ability-interpretation',
  'assessment-method',
  'work-ability-phase',
  'client-situation',
  'work-ability-trigger',
  'care-team-role',
  'work-ability-service',
  'consent-party',
  'consent-data-class',
  'plan-category',
  'onward-path',
];
const INVARIANTS: Record<string, string[]> = {
  'tyokyky-patient': ['tyk-hetu-1'],
  'tyokyky-work-ability-score': ['tyk-was-1', 'tyk-was-2'],
  'tyokyky-consent': ['tyk-con-1', 'tyk-con-2', 'tyk-con-3'],
  'tyokyky-goal': ['tyk-gol-1'],
  'tyokyky-referral': ['tyk-ref-1'],
  'tyokyky-responsible-worker-team': ['tyk-ctm-1', 'tyk-ctm-2'],
  'tyokyky-support-plan': ['tyk-cpl-1', 'tyk-rwa-1', 'tyk-rwa-2'],
};

describe('profiles/package', () => {
  const manifest = readJson(join(PACKAGE, 'package.json'));

  it('is a FHIR NPM package named tyokyky.fhir.workability on R4 and FI Base', () => {
    expect(manifest).toMatchObject({
      name: 'tyokyky.fhir.workability',
      canonical: CANONICAL,
      fhirVersions: ['4.0.1'],
      dependencies: { 'hl7.fhir.r4.core': '4.0.1', 'hl7.fhir.fi.base': '2.0.0-rc2' },
    });
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(
      Object.keys(manifest.dependencies).some((d) => d.includes('stub') || d.startsWith('hl7.fhir.uv.tools')),
    ).toBe(false);
  });

  it.each(['', 'example'])('has an .index.json listing exactly the files of %s/', (sub) => {
    const dir = join(PACKAGE, sub);
    const index = readJson(join(dir, '.index.json'));
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json') && !f.startsWith('.') && f !== 'package.json')
      .sort();
    expect(index['index-version']).toBe(1);
    expect(index.files.map((f: Json) => f.filename)).toEqual(files);
    for (const entry of index.files) {
      const r = readJson(join(dir, entry.filename));
      // index-version 1: filename, resourceType, id and, where the resource has them, these.
      const fields = ['url', 'version', 'kind', 'type', 'supplements', 'content'];
      const expected: Json = { filename: entry.filename, resourceType: r.resourceType, id: r.id };
      for (const k of fields) if (r[k] !== undefined) expected[k] = r[k];
      expect(entry, entry.filename).toEqual(expected);
    }
  });

  it('gives every conformance resource the version of sushi-config.yaml', () => {
    const config = parse(readFileSync(join(ROOT, 'profiles', 'sushi-config.yaml'), 'utf8'));
    expect(manifest.version).toBe(config.version);
    for (const r of conformance()) expect(r.version, `${r.resourceType}/${r.id}`).toBe(config.version);
  });

  it("gives the profiles and the terminology sushi-config.yaml's status", () => {
    const { status } = parse(readFileSync(join(ROOT, 'profiles', 'sushi-config.yaml'), 'utf8'));
    const fsh = conformance().filter((r) =>
      ['StructureDefinition', 'CodeSystem', 'ValueSet'].includes(r.resourceType),
    );
    expect(fsh.length).toBeGreaterThan(40);
    for (const r of fsh) expect(r.status, `${r.resourceType}/${r.id}`).toBe(status);
  });

  it('holds the 12 profiles of DEVELOPERS.md with their parents, snapshots and bilingual descriptions', () => {
    const byId = new Map(profiles().map((p) => [p.id, p]));
    expect([...byId.keys()].sort()).toEqual(Object.keys(PROFILES).sort());
    for (const [id, parent] of Object.entries(PROFILES)) {
      const sd = byId.get(id)!;
      expect(sd.url).toBe(`${CANONICAL}/StructureDefinition/${id}`);
      expect(sd.baseDefinition, id).toBe(parent);
      expect(sd.derivation).toBe('constraint');
      expect(sd.snapshot?.element?.length, `${id} snapshot`).toBeGreaterThan(10);
      expect(
        sd.description.split('\n\n').length,
        `${id} description in Finnish and English`,
      ).toBeGreaterThanOrEqual(2);
    }
  });

  it('applies the Kanta PHR common rules on every profile but the Questionnaire', () => {
    for (const sd of profiles()) {
      if (sd.id === 'tyokyky-self-assessment') continue;
      const el = (id: string) => sd.snapshot.element.find((e: Json) => e.id === `${sd.type}.${id}`);
      expect(el('language')?.min, `${sd.id} language`).toBe(1);
      expect(el('text')?.min, `${sd.id} text`).toBe(1);
      expect(el('identifier')?.min, `${sd.id} identifier`).toBe(1);
      const app = el('extension:creatingApplication');
      if (['Observation', 'QuestionnaireResponse', 'CarePlan'].includes(sd.type)) {
        // Kanta PHR's own extension, required where Kanta's definition allows it.
        expect(app?.min, `${sd.id} creating-application`).toBe(1);
        expect(app?.max).toBe('1');
        expect(app?.type?.[0]?.profile).toEqual([
          'http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication',
        ]);
      } else {
        expect(
          app,
          `${sd.id} has no creating application (Kanta's context excludes ${sd.type})`,
        ).toBeUndefined();
      }
    }
  });

  it('carries each profile-owned invariant on its profile', () => {
    for (const [id, keys] of Object.entries(INVARIANTS)) {
      const sd = profiles().find((p) => p.id === id)!;
      const owned = sd.snapshot.element
        .flatMap((e: Json) => e.constraint ?? [])
        .filter((c: Json) => c.source === sd.url || c.key.startsWith('tyk-'));
      for (const key of keys) {
        const c = owned.find((x: Json) => x.key === key);
        expect(c, `${id} ${key}`).toBeDefined();
        expect(c.severity).toBe('error');
        expect(c.expression.length).toBeGreaterThan(10);
      }
    }
  });

  it('has every CodeSystem with a ValueSet of the same id, Finnish displays and sv/en designations', () => {
    const all = conformance();
    for (const id of CODE_SYSTEMS) {
      const cs = all.find((r) => r.resourceType === 'CodeSystem' && r.id === id)!;
      const vs = all.find((r) => r.resourceType === 'ValueSet' && r.id === id);
      expect(cs?.url).toBe(`${CANONICAL}/CodeSystem/${id}`);
      expect(vs?.url).toBe(`${CANONICAL}/ValueSet/${id}`);
      expect(cs.language).toBe('fi');
      expect(cs.content).toBe('complete');
      for (const c of cs.concept) {
        expect(c.display, `${id}#${c.code}`).toBeTruthy();
        const langs = (c.designation ?? []).map((d: Json) => d.language).sort();
        expect(langs, `${id}#${c.code} designations`).toEqual(['en', 'sv']);
      }
    }
    const rwk = all.find((r) => r.resourceType === 'ValueSet' && r.id === 'responsible-worker-kind')!;
    expect(rwk.compose.include[0].concept.map((c: Json) => c.code)).toEqual([
      'patient-responsible-worker',
      'own-worker',
      'te-expert',
      'kuntakokeilu-coach',
    ]);
  });

  it('has exactly the codes the DEVELOPERS.md terminology table lists', () => {
    const md = readFileSync(join(PACKAGE, '..', '..', 'DEVELOPERS.md'), 'utf8');
    const rows = [...md.matchAll(/^\| `([a-z-]+)`( \(ValueSet only[^)]*\))? \| (`.+`) \|$/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(CODE_SYSTEMS.length);
    const all = conformance();
    for (const [, id, valueSetOnly, cells] of rows) {
      const listed = [...cells!.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      const codes = valueSetOnly
        ? all
            .find((r) => r.resourceType === 'ValueSet' && r.id === id)!
            .compose.include.flatMap((i: Json) => i.concept.map((c: Json) => c.code))
        : all.find((r) => r.resourceType === 'CodeSystem' && r.id === id)!.concept.map((c: Json) => c.code);
      expect(codes, id).toEqual(listed);
    }
  });

  it('includes the ConceptMaps of mappings/conceptmaps', () => {
    const dir = join(PACKAGE, '..', '..', 'mappings', 'conceptmaps');
    const authored = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
    const maps = conformance().filter((r) => r.resourceType === 'ConceptMap');
    expect(maps.length).toBe(authored.length);
    for (const m of maps) expect(m.url).toBe(`${CANONICAL}/ConceptMap/${m.id}`);
  });
});

describe('conformance resources in the project validator', () => {
  // Every file of the package root: the profiles and extensions (their snapshots carry what they inherit
  // from FI Base, e.g. an empty slicing.description), terminology, ConceptMaps, the SearchParameter and
  // the Questionnaire.
  it('every conformance resource of the package validates against R4 with 0 errors', async () => {
    const { loadProjectValidator } = await import('../../src/validation/index.ts');
    const v = await loadProjectValidator();
    const checked = conformance();
    expect(checked.length).toBe(readdirSync(PACKAGE).filter((f) => /^[A-Z].*\.json$/.test(f)).length);
    expect(new Set(checked.map((r) => r.resourceType))).toEqual(
      new Set([
        'StructureDefinition',
        'CodeSystem',
        'ValueSet',
        'ConceptMap',
        'SearchParameter',
        'Questionnaire',
      ]),
    );
    for (const r of checked) {
      const errors = (v.validate(r).issue ?? []).filter(
        (i) => i.severity === 'error' || i.severity === 'fatal',
      );
      expect(errors, `${r.resourceType}/${r.id}`).toEqual([]);
    }
  }, 60_000);
});

describe('docs/profiles.md', () => {
  const docs = readFileSync(join(ROOT, 'docs', 'profiles.md'), 'utf8');
  /** `-ig` arguments as name#version: a folder of the repository by its package.json. */
  const loaded = (command: string) =>
    [...command.matchAll(/-ig (\S+)/g)].map(([, arg]) => {
      if (arg!.includes('#')) return arg!;
      const m = readJson(join(ROOT, arg!, 'package.json'));
      return `${m.name}#${m.version}`;
    });

  it('the HL7 validator recipe loads the package and every package it depends on (R4 core aside)', () => {
    const manifest = readJson(join(PACKAGE, 'package.json'));
    const command = /`(java -jar validator_cli\.jar [^`]+)`/.exec(docs)?.[1];
    expect(command).toBeDefined();
    const needed = [
      `${manifest.name}#${manifest.version}`,
      ...Object.entries(manifest.dependencies as Record<string, string>)
        .filter(([name]) => name !== 'hl7.fhir.r4.core')
        .map(([name, version]) => `${name}#${version}`),
    ];
    expect(loaded(command!).sort()).toEqual(needed.sort());
  });
});
