export { parseDateRange } from './dates.ts';
export { openStore } from './store.ts';
export type * from './types.ts';
