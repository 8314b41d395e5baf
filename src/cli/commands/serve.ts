import type { Command } from 'commander';

// Owned by the facade work (issue 5): `serve` and `load`; replaced there.
export function registerServeCommands(_program: Command): void {}
