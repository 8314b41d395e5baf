export { parseDateRange } from './dates.ts';
export { openStore } from './store.ts';
export { freshPgliteDataDir } from './template.ts';
export type * from './types.ts';
