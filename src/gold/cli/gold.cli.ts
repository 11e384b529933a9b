/**
 * The gold publisher CLI: `npm run gold -- <command>` (see USAGE in gold-cli.ts).
 * Exit codes: 0 done, 1 input rejected or command refused, 2 usage or configuration error,
 * 3 store failure.
 */
import { runGoldCli } from './gold-cli.js';

const main = async (): Promise<void> => {
  try {
    process.exitCode = await runGoldCli(process.argv.slice(2), {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      env: process.env,
    });
  } catch (error) {
    // Not an expected failure: keep the stack for whoever debugs it.
    process.stderr.write(
      `gold: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 70;
  }
};

await main();
