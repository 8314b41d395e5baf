/**
 * The persona stories of DOMAIN.md (Suvi, Maija, Sirpa) as domain objects — the one source of
 * examples/personas/<name>.json, which `npm run build:examples` (generate-examples.ts) writes.
 * HETUs are 900-series test codes.
 */
import { type ResponsibleWorkerTeam, type WorkAbilityRecord, handOver } from '../../src/domain/index.ts';

/** Suvi, 31: unemployed two years, warehouse and gig jobs; kuntakokeilu client referred to rehabilitative work activity. */
export const suvi: WorkAbilityRecord = {
  client: {
    id: 'suvi',
    hetu: '120395-902S',
    name: { family: 'Virtanen', given: ['Suvi'] },
    gender: 'female',
    municipality: '091',
  },
  organizations: [
    { id: 'hki-kuntakokeilu', name: 'Helsingin työllisyyspalvelut (kuntakokeilu)', party: 'kuntakokeilu' },
    { id: 'hki-social', name: 'Helsingin kaupunki, sosiaalipalvelut', party: 'social-services' },
    {
      id: 'kela',
      name: 'Kela',
      identifier: { system: 'urn:oid:1.2.246.10.2', value: '1.2.246.10.2' },
      party: 'kela',
    },
  ],
  professionals: [
    {
      id: 'coach-laine',
      name: 'Liisa Laine',
      role: 'kuntakokeilu-coach',
      organizationId: 'hki-kuntakokeilu',
    },
    { id: 'sw-nieminen', name: 'Pekka Nieminen', role: 'social-worker', organizationId: 'hki-social' },
  ],
  selfAssessments: [
    {
      id: 'dc60928b-8fc7-4bd3-b267-cd1009ec089a',
      clientId: 'suvi',
      date: '2026-02-10',
      overall: 6,
      mentalWellbeing: 5,
      socialParticipation: 4,
      physicalFunctioning: 8,
      competence: 6,
      everydayLife: 6,
    },
  ],
  assessments: [
    {
      id: 'suvi-assessment-1',
      clientId: 'suvi',
      date: '2026-02-17',
      assessorId: 'coach-laine',
      selfScore: 6,
      professionalScore: 5,
      phase: 'secondary',
      situation: 'unemployed',
      triggers: ['broken-work-history', 'low-self-efficacy'],
      rehabilitationNeed: true,
      selfAssessmentId: 'dc60928b-8fc7-4bd3-b267-cd1009ec089a',
      note: 'Keskeytyneet myyjän opinnot, varasto- ja keikkatöitä; kaksi vuotta työttömänä.',
    },
  ],
  consents: [
    {
      id: 'suvi-consent-1',
      clientId: 'suvi',
      date: '2026-02-17',
      parties: ['kuntakokeilu', 'social-services', 'kela'],
      dataClasses: ['identification', 'work-ability-assessment', 'support-plan', 'employment-history'],
      period: { start: '2026-02-17', end: '2027-02-16' },
      organizationId: 'hki-kuntakokeilu',
    },
  ],
  teams: [
    {
      id: 'suvi-team',
      clientId: 'suvi',
      name: 'Suvin tiimi',
      members: [
        { professionalId: 'coach-laine', role: 'kuntakokeilu-coach', period: { start: '2026-01-15' } },
        { professionalId: 'sw-nieminen', role: 'social-worker', period: { start: '2026-03-01' } },
      ],
    },
  ],
  plans: [
    {
      id: 'suvi-activation-plan',
      clientId: 'suvi',
      category: 'activation-plan',
      status: 'active',
      created: '2026-03-10',
      period: { start: '2026-03-10', end: '2026-12-31' },
      authorId: 'sw-nieminen',
      title: 'Aktivointisuunnitelma',
      goals: [
        {
          id: 'routine',
          description: 'Säännöllinen päivärytmi kahtena päivänä viikossa',
          dueDate: '2026-06-30',
        },
        { id: 'path', description: 'Selkeä jatkopolku opintoihin tai työhön', dueDate: '2026-12-31' },
      ],
      activities: [
        {
          service: 'rehabilitative-work-activity',
          description: 'Kuntouttava työtoiminta kierrätyskeskuksessa',
          daysPerWeek: 2,
          period: { start: '2026-04-01', end: '2026-09-30' },
          performerId: 'sw-nieminen',
        },
      ],
      followUpDate: '2026-06-15',
      assessmentId: 'suvi-assessment-1',
      teamId: 'suvi-team',
    },
  ],
  referrals: [
    {
      id: 'suvi-referral-1',
      clientId: 'suvi',
      service: 'rehabilitative-work-activity',
      requesterId: 'coach-laine',
      date: '2026-02-20',
      reasons: ['broken-work-history', 'low-self-efficacy'],
      consentId: 'suvi-consent-1',
      note: 'Ohjaus sosiaalipalveluihin kuntouttavaan työtoimintaan.',
    },
  ],
};

const maijaTeamBefore: ResponsibleWorkerTeam = {
  id: 'maija-team',
  clientId: 'maija',
  name: 'Maijan työkyvyn tuen tiimi',
  members: [
    { professionalId: 'nurse-koskinen', role: 'patient-responsible-worker', period: { start: '2026-01-20' } },
    { professionalId: 'dr-makela', role: 'doctor', period: { start: '2026-01-27' } },
    { professionalId: 'coord-heikkinen', role: 'work-ability-coordinator', period: { start: '2026-02-10' } },
  ],
};
const maijaHandover = handOver(maijaTeamBefore, {
  professionalId: 'sc-lehtonen',
  role: 'own-worker',
  date: '2026-05-01',
});
if (!maijaHandover.ok) throw new Error(maijaHandover.reason);

/** Maija, 47: long out of working life, hidden alcohol use, recent divorce, small falls; supported in the sote centre. */
export const maija: WorkAbilityRecord = {
  client: {
    id: 'maija',
    hetu: '030879-904X',
    name: { family: 'Meikäläinen', given: ['Maija'] },
    municipality: '091',
  },
  organizations: [
    { id: 'hki-sote', name: 'Helsingin kaupunki, sote-keskus', party: 'other-health-care' },
    { id: 'hki-social', name: 'Helsingin kaupunki, sosiaalipalvelut', party: 'social-services' },
    { id: 'kela', name: 'Kela', party: 'kela' },
  ],
  professionals: [
    {
      id: 'nurse-koskinen',
      name: 'Anna Koskinen',
      role: 'public-health-nurse-unemployed',
      organizationId: 'hki-sote',
    },
    { id: 'dr-makela', name: 'Jussi Mäkelä', role: 'doctor', organizationId: 'hki-sote' },
    {
      id: 'coord-heikkinen',
      name: 'Sari Heikkinen',
      role: 'work-ability-coordinator',
      organizationId: 'hki-sote',
    },
    { id: 'sc-lehtonen', name: 'Mika Lehtonen', role: 'social-counsellor', organizationId: 'hki-social' },
  ],
  assessments: [
    {
      id: 'maija-assessment-1',
      clientId: 'maija',
      date: '2026-01-27',
      assessorId: 'dr-makela',
      selfScore: 8,
      professionalScore: 4,
      phase: 'secondary',
      situation: 'unemployed',
      triggers: ['addiction', 'untreated-illness', 'assessment-mismatch'],
      rehabilitationNeed: true,
      mismatch: true,
      note: 'Pieniä kaatumisia; alkoholinkäyttö tuli esiin vasta haastattelussa.',
    },
  ],
  consents: [
    {
      id: 'maija-consent-1',
      clientId: 'maija',
      date: '2026-01-27',
      parties: ['unemployed-health-check', 'other-health-care', 'kela', 'te-services'],
      dataClasses: ['health-data', 'work-ability-assessment', 'support-plan'],
      period: { start: '2026-01-27' },
      organizationId: 'hki-sote',
    },
  ],
  teams: [maijaHandover.team],
  plans: [
    {
      id: 'maija-plan',
      clientId: 'maija',
      category: 'work-ability-support-plan',
      status: 'active',
      created: '2026-02-10',
      period: { start: '2026-02-10' },
      authorId: 'coord-heikkinen',
      goals: [
        { id: 'alcohol', description: 'Alkoholinkäytön vähentäminen', dueDate: '2026-08-31' },
        { id: 'exams', description: 'Kaatumisten syyt selvitetty', achieved: true },
      ],
      activities: [
        { service: 'examinations', description: 'Tutkimukset kaatumisten syistä', performerId: 'dr-makela' },
        { service: 'doctor-services', performerId: 'dr-makela' },
        { service: 'work-ability-coordinator', performerId: 'coord-heikkinen' },
      ],
      followUpDate: '2026-05-15',
      assessmentId: 'maija-assessment-1',
      teamId: 'maija-team',
    },
  ],
};

/** Sirpa, 51: merkonomi without paid work since 1993; rehabilitative work activity raised to four days, now in job coaching. */
export const sirpa: WorkAbilityRecord = {
  client: {
    id: 'sirpa',
    hetu: '250675Y906J',
    name: { family: 'Korhonen', given: ['Sirpa'] },
    municipality: '091',
  },
  organizations: [
    { id: 'hki-social', name: 'Helsingin kaupunki, sosiaalipalvelut', party: 'social-services' },
    { id: 'te-uusimaa', name: 'TE-palvelut', party: 'te-services' },
  ],
  professionals: [
    { id: 'sc-virta', name: 'Tiina Virta', role: 'social-counsellor', organizationId: 'hki-social' },
    { id: 'jc-salo', name: 'Olli Salo', role: 'job-coach', organizationId: 'hki-social' },
    { id: 'te-aalto', name: 'Kirsi Aalto', role: 'te-expert', organizationId: 'te-uusimaa' },
  ],
  selfAssessments: [
    {
      id: 'f5de124e-6ec9-4bae-9996-995eac8ecc3b',
      clientId: 'sirpa',
      date: '2026-03-02',
      overall: 7,
      competence: 8,
      everydayLife: 7,
    },
  ],
  assessments: [
    {
      id: 'sirpa-assessment-2026',
      clientId: 'sirpa',
      date: '2026-03-09',
      assessorId: 'sc-virta',
      selfScore: 7,
      professionalScore: 7,
      phase: 'tertiary',
      situation: 'unemployed',
      triggers: ['broken-work-history'],
      rehabilitationNeed: false,
      selfAssessmentId: 'f5de124e-6ec9-4bae-9996-995eac8ecc3b',
    },
  ],
  consents: [
    {
      id: 'sirpa-consent-2024',
      clientId: 'sirpa',
      date: '2024-04-02',
      parties: ['te-services', 'social-services'],
      dataClasses: ['identification', 'support-plan', 'employment-history'],
      period: { start: '2024-04-02', end: '2026-04-01' },
      withdrawnOn: '2025-04-15',
      organizationId: 'hki-social',
    },
    {
      id: 'sirpa-consent-2025',
      clientId: 'sirpa',
      date: '2025-04-15',
      parties: ['te-services', 'social-services', 'kela'],
      dataClasses: ['identification', 'support-plan', 'employment-history', 'benefits-income'],
      period: { start: '2025-04-15', end: '2027-04-14' },
      organizationId: 'hki-social',
    },
  ],
  teams: [
    {
      id: 'sirpa-team',
      clientId: 'sirpa',
      members: [
        { professionalId: 'sc-virta', role: 'own-worker', period: { start: '2024-04-02' } },
        { professionalId: 'te-aalto', role: 'te-expert', period: { start: '2024-04-02', end: '2024-12-31' } },
        { professionalId: 'jc-salo', role: 'job-coach', period: { start: '2026-03-15' } },
      ],
    },
  ],
  plans: [
    {
      id: 'sirpa-implementation-plan',
      clientId: 'sirpa',
      category: 'implementation-plan',
      status: 'active',
      created: '2025-05-01',
      period: { start: '2025-05-01', end: '2026-12-31' },
      authorId: 'sc-virta',
      goals: [
        { id: 'four-days', description: 'Neljä päivää viikossa työtoiminnassa', achieved: true },
        {
          id: 'job',
          description: 'Palkkatyö tuetun työllistymisen valmennuksella',
          dueDate: '2026-12-31',
          achieved: false,
        },
      ],
      activities: [
        {
          service: 'rehabilitative-work-activity',
          description: 'Verstas',
          daysPerWeek: 2,
          period: { start: '2025-05-01', end: '2026-03-14' },
          performerId: 'sc-virta',
        },
        {
          service: 'rehabilitative-work-activity',
          description: 'Asiakaspalvelu',
          daysPerWeek: 2,
          period: { start: '2025-05-01', end: '2026-03-14' },
          performerId: 'sc-virta',
        },
        {
          service: 'ips-job-coaching',
          description: 'Laatukriteerien mukainen tuetun työllistymisen valmennus',
          period: { start: '2026-03-15', end: '2026-12-31' },
          performerId: 'jc-salo',
          onwardPath: 'paid-work',
        },
      ],
      followUpDate: '2026-09-15',
      assessmentId: 'sirpa-assessment-2026',
      teamId: 'sirpa-team',
    },
  ],
};

export const personas = { suvi, maija, sirpa } as const;
