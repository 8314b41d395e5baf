import { createProgram } from './program.ts';

// `tyokyky validate … | head`: a reader that has seen enough is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// A command that fails outside its own error handling ends with one line, not a stack trace: the
// trace adds nothing for a user, and an error's message is the most any output may say about input.
try {
  await createProgram().parseAsync(process.argv);
} catch (err) {
  console.error(`tyokyky: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
