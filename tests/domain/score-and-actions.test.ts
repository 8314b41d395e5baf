import { describe, expect, it } from 'vitest';
import {
  CLIENT_SITUATIONS,
  PHASES,
  interpretWorkAbilityScore,
  recommendedActions,
} from '../../src/domain/index.ts';
import { readProjectJson } from '../../src/shared/project-files.ts';

describe('interpretWorkAbilityScore', () => {
  it.each([0, 5, 7])('%i ≤ 7 → investigate further', (score) => {
    expect(interpretWorkAbilityScore(score)).toMatchObject({
      valid: true,
      investigateFurther: true,
      interpretation: 'needs-further-assessment',
      reason: `score ${score} ≤ 7: investigate work ability further`,
    });
  });
  it.each([8, 10])('%i > 7 → no further assessment', (score) => {
    expect(interpretWorkAbilityScore(score)).toMatchObject({
      valid: true,
      investigateFurther: false,
      interpretation: 'no-further-assessment',
    });
  });
  it.each([-1, 11, 6.5, Number.NaN])('%s is not a score', (score) => {
    expect(interpretWorkAbilityScore(score)).toEqual({
      valid: false,
      reason: `Work Ability Score must be an integer 0–10, got ${score}`,
    });
  });
});

describe('recommendedActions (phase × situation matrix in mappings/)', () => {
  const table = readProjectJson<{
    actions: Record<string, unknown>;
    matrix: Record<string, Record<string, string[]>>;
  }>('mappings/phase-situation-actions.json');

  it('covers every cell, and every action id has Finnish, Swedish and English text', () => {
    for (const s of CLIENT_SITUATIONS) {
      for (const p of PHASES) {
        const r = recommendedActions(p, s);
        expect(r.actions.length).toBeGreaterThanOrEqual(4);
        for (const a of r.actions) {
          expect(a.fi.length).toBeGreaterThan(5);
          expect(a.sv.length).toBeGreaterThan(5);
          expect(a.en.length).toBeGreaterThan(5);
        }
      }
    }
    for (const cells of Object.values(table.matrix))
      for (const ids of Object.values(cells)) for (const id of ids) expect(table.actions).toHaveProperty(id);
  });

  it('tertiary unemployed starts multi-sector rehabilitation planning with TYP and always coordinates income', () => {
    const ids = recommendedActions('tertiary', 'unemployed').actions.map((a) => a.id);
    expect(ids).toContain('start-multisector-rehabilitation-planning-with-typ');
    expect(ids).toContain('check-earlier-phases-done');
    expect(ids.at(-1)).toBe('coordinate-income-and-benefits');
  });

  it('an action reads in Swedish as Finland-Swedish social care says it', () => {
    const r = recommendedActions('tertiary', 'unemployed');
    const byId = (id: string) => r.actions.find((a) => a.id === id)!;
    expect(byId('start-multisector-rehabilitation-planning-with-typ')).toEqual({
      id: 'start-multisector-rehabilitation-planning-with-typ',
      fi: 'Käynnistä monialaisen kuntoutuksen suunnittelu kuntoutustutkimusyksikön tai TYP:n kanssa',
      sv: 'Inled planeringen av sektorsövergripande rehabilitering med rehabiliteringsundersökningsenheten eller SYP',
      en: 'Start multi-sector rehabilitation planning with the rehabilitation research unit or TYP',
    });
    expect(byId('coordinate-income-and-benefits').sv).toBe(
      'Beakta hela tiden klientens försörjning och samordningen av förmånerna',
    );
  });

  it('with occupational health the primary phase contacts occupational health early', () => {
    const r = recommendedActions('primary', 'employed-with-occupational-health');
    expect(r.actions.map((a) => a.id)).toContain('contact-occupational-health-early');
    expect(r.reason).toContain('employed-with-occupational-health × primary');
  });

  it('secondary unemployed agrees a coordinator; employed without occupational health agrees who continues', () => {
    expect(recommendedActions('secondary', 'unemployed').actions.map((a) => a.id)).toContain(
      'agree-coordinator-of-employment-support',
    );
    expect(
      recommendedActions('secondary', 'employed-without-occupational-health').actions.map((a) => a.id),
    ).toContain('agree-who-continues-employment-support');
  });

  it('rejects an unknown cell', () => {
    expect(() => recommendedActions('quaternary' as never, 'unemployed')).toThrow(
      /no recommended actions for phase 'quaternary'/,
    );
  });
});
