import { readProjectJson } from '../../shared/project-files.ts';
import type { ClientSituation, Phase } from '../codes.ts';

export interface RecommendedAction {
  id: string;
  fi: string;
  sv: string;
  en: string;
}

export interface RecommendedActions {
  phase: Phase;
  situation: ClientSituation;
  actions: RecommendedAction[];
  reason: string;
}

interface ActionTable {
  actions: Record<string, Omit<RecommendedAction, 'id'>>;
  always: string[];
  matrix: Record<ClientSituation, Record<Phase, string[]>>;
}
const table = readProjectJson<ActionTable>('mappings/phase-situation-actions.json');
const actions = table.actions;
const matrix = table.matrix as Record<ClientSituation, Record<Phase, string[]>>;

/** *Työkyvyn tukeminen eri vaiheissa*: the actions the matrix in mappings/ prescribes for a cell. */
export function recommendedActions(phase: Phase, situation: ClientSituation): RecommendedActions {
  const cell = matrix[situation]?.[phase];
  if (!cell) throw new RangeError(`no recommended actions for phase '${phase}' and situation '${situation}'`);
  const ids = [...cell, ...table.always.filter((id) => !cell.includes(id))];
  return {
    phase,
    situation,
    actions: ids.map((id) => ({ id, ...actions[id]! })),
    reason: `matrix cell ${situation} × ${phase} (${cell.length} actions) plus the actions that always apply`,
  };
}
