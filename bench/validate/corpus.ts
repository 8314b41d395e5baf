// A deterministic corpus for the validator benchmark: the same resources on every run and machine.
// Mostly valid R4 resources of the kinds this project handles, plus a few invalid ones so the error
// paths are exercised too.
import { seededRandom } from '../../tests/helpers/seeded-random.ts';

const FI_BASE = 'https://hl7.fi/fhir/finnish-base-profiles';
const CANONICAL = 'https://tyokyky-fhir.org/fhir';
const CHECK_CHARS = '0123456789ABCDEFHJKLMNPRSTUVWXY';

/** Reproducible test data: a seeded generator with the picks the corpus needs. */
function prng(seed: number) {
  const next = seededRandom(seed);
  return {
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)],
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

const given = ['Suvi', 'Maija', 'Sirpa', 'Ari', 'Valteri', 'Aino', 'Eero', 'Helmi', 'Juha', 'Liisa'];
const family = ['Virtanen', 'Korhonen', 'Mäkinen', 'Nieminen', 'Mäkelä', 'Hämäläinen', 'Laine', 'Heikkinen'];
const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** A HETU with a real date, a 900-series (test) individual number and the right check character. */
export function testHetu(rng: Rng): { hetu: string; birthDate: string } {
  const year = rng.int(1950, 2004);
  const month = rng.int(1, 12);
  const day = rng.int(1, 28);
  const individual = rng.int(900, 999);
  const digits = `${pad(day, 2)}${pad(month, 2)}${pad(year % 100, 2)}`;
  const check = CHECK_CHARS[Number(`${digits}${individual}`) % 31];
  const sign = year >= 2000 ? 'A' : '-';
  return {
    hetu: `${digits}${sign}${individual}${check}`,
    birthDate: `${year}-${pad(month, 2)}-${pad(day, 2)}`,
  };
}

const narrative = (s: string) => ({
  status: 'generated',
  div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${s}</p></div>`,
});

function patient(rng: Rng, i: number): Record<string, unknown> {
  const { hetu, birthDate } = testHetu(rng);
  const g = rng.pick(given);
  const f = rng.pick(family);
  return {
    resourceType: 'Patient',
    id: `pat-${i}`,
    meta: { profile: [`${FI_BASE}/StructureDefinition/fi-base-patient`] },
    text: narrative(`${g} ${f}`),
    identifier: [
      {
        use: 'official',
        system: 'urn:oid:1.2.246.21',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NNFIN' }] },
        value: hetu,
      },
    ],
    active: true,
    name: [{ use: 'official', family: f, given: [g] }],
    telecom: [{ system: 'phone', value: `+35840${pad(rng.int(0, 9999999), 7)}`, use: 'mobile' }],
    gender: rng.pick(['male', 'female', 'other', 'unknown']),
    birthDate,
    address: [
      {
        use: 'home',
        line: [`Testikatu ${rng.int(1, 99)}`],
        postalCode: '00100',
        city: 'Helsinki',
        country: 'FI',
      },
    ],
    communication: [
      {
        language: { coding: [{ system: 'urn:ietf:bcp:47', code: rng.pick(['fi', 'sv', 'en']) }] },
        preferred: true,
      },
    ],
  };
}

/** A Patient for our own `tyokyky-patient` profile (Kanta PHR common rules on top of FI Base). */
export function tyokykyPatient(rng: Rng, i: number): Record<string, unknown> {
  const p = patient(rng, i);
  return {
    ...p,
    meta: { profile: [`${CANONICAL}/StructureDefinition/tyokyky-patient`] },
    language: 'fi',
    identifier: [
      ...(p.identifier as unknown[]),
      { system: 'urn:ietf:rfc:3986', value: `urn:uuid:00000000-0000-5000-8000-${pad(i, 12)}` },
    ],
  };
}

function observation(rng: Rng, i: number, subject: string): Record<string, unknown> {
  const vital = rng.chance(0.5);
  const effectiveDateTime = `2024-${pad(rng.int(1, 12), 2)}-${pad(rng.int(1, 28), 2)}T${pad(rng.int(0, 23), 2)}:00:00+02:00`;
  const base = {
    resourceType: 'Observation',
    id: `obs-${i}`,
    text: narrative('observation'),
    status: 'final',
    subject: { reference: subject },
    effectiveDateTime,
  };
  if (vital) {
    return {
      ...base,
      category: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/observation-category',
              code: 'vital-signs',
              display: 'Vital Signs',
            },
          ],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      valueQuantity: {
        value: rng.int(45, 120),
        unit: 'beats/minute',
        system: 'http://unitsofmeasure.org',
        code: '/min',
      },
    };
  }
  return {
    ...base,
    code: {
      coding: [{ system: `${CANONICAL}/CodeSystem/work-ability-observation`, code: 'work-ability-score' }],
      text: 'Työkykypistemäärä',
    },
    valueInteger: rng.int(0, 10),
    component: [
      {
        code: { coding: [{ system: `${CANONICAL}/CodeSystem/work-ability-observation`, code: 'phase' }] },
        valueCodeableConcept: {
          coding: [
            {
              system: `${CANONICAL}/CodeSystem/work-ability-phase`,
              code: rng.pick(['primary', 'secondary', 'tertiary']),
            },
          ],
        },
      },
    ],
  };
}

function condition(rng: Rng, i: number, subject: string): Record<string, unknown> {
  return {
    resourceType: 'Condition',
    id: `cond-${i}`,
    text: narrative('condition'),
    clinicalStatus: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
          code: rng.pick(['active', 'remission', 'resolved']),
        },
      ],
    },
    verificationStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }],
    },
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' },
        ],
      },
    ],
    code: {
      coding: [{ system: 'http://snomed.info/sct', code: rng.pick(['35489007', '7200002', '69896004']) }],
    },
    subject: { reference: subject },
    onsetDateTime: `20${pad(rng.int(10, 23), 2)}-0${rng.int(1, 9)}-1${rng.int(0, 9)}`,
  };
}

function encounter(rng: Rng, i: number, subject: string): Record<string, unknown> {
  const day = pad(rng.int(1, 28), 2);
  return {
    resourceType: 'Encounter',
    id: `enc-${i}`,
    text: narrative('encounter'),
    status: 'finished',
    class: {
      system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
      code: rng.pick(['AMB', 'VR', 'HH']),
    },
    subject: { reference: subject },
    period: { start: `2024-03-${day}T09:00:00+02:00`, end: `2024-03-${day}T10:00:00+02:00` },
  };
}

function organization(_rng: Rng, i: number): Record<string, unknown> {
  return {
    resourceType: 'Organization',
    id: `org-${i}`,
    text: narrative('organisation'),
    identifier: [{ system: 'urn:oid:1.2.246.537.6.202', value: `1.2.246.10.${1000000 + i}` }],
    active: true,
    name: `Sote-keskus ${i}`,
    telecom: [{ system: 'email', value: `info${i}@example.fi` }],
  };
}

function practitioner(rng: Rng, i: number): Record<string, unknown> {
  return {
    resourceType: 'Practitioner',
    id: `prac-${i}`,
    text: narrative('practitioner'),
    active: true,
    name: [{ family: rng.pick(family), given: [rng.pick(given)], prefix: ['TtM'] }],
    qualification: [{ code: { text: 'Sosiaalityöntekijä' } }],
  };
}

function carePlan(rng: Rng, i: number, subject: string): Record<string, unknown> {
  return {
    resourceType: 'CarePlan',
    id: `cp-${i}`,
    text: narrative('plan'),
    status: 'active',
    intent: 'plan',
    title: 'Työkyvyn tuen suunnitelma',
    subject: { reference: subject },
    period: { start: '2024-01-01', end: '2024-12-31' },
    activity: [
      {
        detail: {
          status: rng.pick(['scheduled', 'in-progress', 'completed']),
          description: 'Kuntouttava työtoiminta 3 pv/vko',
        },
      },
      { reference: { reference: `ServiceRequest/sr-${i}` } },
    ],
  };
}

function consent(rng: Rng, i: number, subject: string): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    id: `con-${i}`,
    text: narrative('consent'),
    status: rng.pick(['active', 'inactive']),
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: subject },
    dateTime: '2024-02-01T10:00:00+02:00',
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit', period: { start: '2024-02-01' } },
  };
}

function questionnaireResponse(rng: Rng, i: number, subject: string): Record<string, unknown> {
  return {
    resourceType: 'QuestionnaireResponse',
    id: `qr-${i}`,
    text: narrative('answers'),
    questionnaire: `${CANONICAL}/Questionnaire/kykyviisari`,
    status: 'completed',
    subject: { reference: subject },
    authored: '2024-04-02T12:00:00+03:00',
    item: [
      { linkId: 'work-ability', answer: [{ valueInteger: rng.int(0, 10) }] },
      { linkId: 'note', answer: [{ valueString: 'Väsymys' }] },
    ],
  };
}

function bundle(rng: Rng, i: number): Record<string, unknown> {
  const pat = patient(rng, 100_000 + i);
  const patUrl = `urn:uuid:00000000-0000-4000-8000-${pad(i, 12)}`;
  const entries: Array<Record<string, unknown>> = [
    { fullUrl: patUrl, resource: { ...pat, id: undefined }, request: { method: 'POST', url: 'Patient' } },
  ];
  for (let k = 0; k < 4; k++) {
    const obs = observation(rng, 100_000 + i * 10 + k, patUrl);
    entries.push({
      fullUrl: `urn:uuid:00000000-0000-4000-9000-${pad(i * 10 + k, 12)}`,
      resource: { ...obs, id: undefined },
      request: { method: 'POST', url: 'Observation' },
    });
  }
  return {
    resourceType: 'Bundle',
    id: `bundle-${i}`,
    type: 'transaction',
    entry: entries.map(dropUndefined),
  };
}

function dropUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Deliberate mistakes, one per invalid resource. */
const breakers: Array<(r: Record<string, unknown>) => void> = [
  (r) => {
    r.status = 'bogus';
  },
  (r) => {
    r.unknownProperty = true;
  },
  (r) => {
    r.id = 'not valid id!';
  },
  (r) => {
    r.text = {
      status: 'generated',
      div: '<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div>',
    };
  },
];

export interface Corpus {
  /** Mixed resources for base R4 validation (≈2,000 incl. transaction Bundles). */
  mixed: Array<Record<string, unknown>>;
  /** FI Base patients (`meta.profile` set) for profile mode. */
  fiPatients: Array<Record<string, unknown>>;
  /** Patients for our own tyokyky-patient profile. */
  tyokykyPatients: Array<Record<string, unknown>>;
}

export function buildCorpus(seed = 20240601): Corpus {
  const rng = prng(seed);
  const mixed: Array<Record<string, unknown>> = [];
  const plan: Array<[number, (i: number) => Record<string, unknown>]> = [
    [400, (i) => patient(rng, i)],
    [600, (i) => observation(rng, i, `Patient/pat-${i % 400}`)],
    [200, (i) => condition(rng, i, `Patient/pat-${i % 400}`)],
    [200, (i) => encounter(rng, i, `Patient/pat-${i % 400}`)],
    [100, (i) => organization(rng, i)],
    [100, (i) => practitioner(rng, i)],
    [100, (i) => carePlan(rng, i, `Patient/pat-${i % 400}`)],
    [100, (i) => consent(rng, i, `Patient/pat-${i % 400}`)],
    [100, (i) => questionnaireResponse(rng, i, `Patient/pat-${i % 400}`)],
    [100, (i) => bundle(rng, i)],
  ];
  for (const [n, make] of plan) for (let i = 0; i < n; i++) mixed.push(make(i));
  // Every 25th resource gets one mistake (4%).
  mixed.forEach((r, i) => {
    if (i % 25 === 24) breakers[((i / 25) % breakers.length) | 0](r);
  });
  const fiPatients: Array<Record<string, unknown>> = [];
  const tyokykyPatients: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 500; i++) fiPatients.push(patient(rng, 10_000 + i));
  for (let i = 0; i < 500; i++) tyokykyPatients.push(tyokykyPatient(rng, 20_000 + i));
  return { mixed, fiPatients, tyokykyPatients };
}
