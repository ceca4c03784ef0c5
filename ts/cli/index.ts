/**
 * The `smartregistry` command. Imported by `cli.js` (the package bin) and run directly in tests
 * (`node --import tsx ts/cli/index.ts serve`); importing it runs it.
 */
import { CliUsageError, HELP_TEXT, parseCliArgs } from './args.js';
import { serve, stopOnSignals } from './serve.js';
import { runGcCommand } from './gc.js';
import { runReportCommand } from './report.js';
import { runTokenCommand } from './token.js';

const writeOut = (line: string) => void process.stdout.write(`${line}\n`);
const writeErr = (line: string) => void process.stderr.write(`${line}\n`);

export async function main(argv: string[]): Promise<number | 'running'> {
  try {
    const options = parseCliArgs(argv);
    switch (options.command) {
      case 'help':
        writeOut(HELP_TEXT);
        return 0;
      case 'token':
        await runTokenCommand(options, writeOut);
        return 0;
      case 'report':
        await runReportCommand(options, writeOut);
        return 0;
      case 'gc':
        await runGcCommand(options, writeOut);
        return 0;
      case 'serve': {
        await serve(options, writeOut, { beforeReady: (stop) => stopOnSignals(stop, writeErr) });
        return 'running';
      }
    }
  } catch (error) {
    if (error instanceof CliUsageError) {
      writeErr(`error ${error.message}\n(see smartregistry --help)`);
      return 2;
    }
    writeErr(`error ${(error as Error)?.message ?? error}`);
    return 1;
  }
}

const result = await main(process.argv.slice(2));
if (result !== 'running') process.exitCode = result;
