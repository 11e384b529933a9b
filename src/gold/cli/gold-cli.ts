import { statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { ConfigError, loadCosmosConfig } from '../../modules/config/app-config.js';
import { createCosmosClient } from '../../modules/cosmos/cosmos-client.factory.js';
import { StoreError } from '../../modules/cosmos/cosmos.errors.js';
import { goldId } from '../contract/common.schema.js';
import { goldDatasetNames, isGoldDatasetName, type GoldDatasetName } from '../contract/gold-datasets.js';
import { GoldStoreRepository } from '../gold-store.repository.js';
import { ManifestRepository } from '../manifest.repository.js';
import { GoldPublisher, type PublisherReporter } from '../publisher/gold-publisher.js';
import { GoldRefusedError, GoldStoreStateError } from '../publisher/publisher.errors.js';
import { inputFormatOf } from '../publisher/record-reader.js';
import { formatStatus } from './status-report.js';

export const USAGE = `Usage: npm run gold -- <command> [options]

Commands:
  publish --dataset <name> --input <file>... [--max-bad N] [--concurrency N]
          [--model-version V] [--snapshot-id ID]
      Validate every record of the input files (JSON Lines .jsonl/.json, gzipped .jsonl.gz/.gz,
      Parquet .parquet), write them as a new snapshot and make it active in one conditional
      manifest write. Bad records are printed as file:line: reason; with more than --max-bad
      (default 0) nothing is written. --concurrency bulk calls in flight (default 4).
  status [--json]
      Active and previous snapshot, age, document count, unfinished (WRITING) snapshots and
      snapshots being deleted (PRUNING) of every dataset.
  rollback --dataset <name>
      Make the previous snapshot active again.
  prune [--dataset <name>] [--grace-hours N] [--concurrency N]
      Delete the documents of every snapshot other than the active and previous ones (WRITING
      snapshots only when older than --grace-hours, default 24). Snapshots are marked PRUNING
      in the manifest before any document is deleted; ones an interrupted prune left PRUNING are
      always finished.
  sample ...
      Build the sample gold (see \`npm run gold -- sample --help\`).

Datasets: ${goldDatasetNames.join(', ')}
Environment: COSMOS_ENDPOINT, COSMOS_KEY (or an Entra ID login), COSMOS_DATABASE, COSMOS_CA_CERT_FILE, ...
Exit codes: 0 done, 1 input rejected or command refused, 2 usage or configuration error, 3 store failure`;

export const EXIT_OK = 0;
export const EXIT_REJECTED = 1;
export const EXIT_USAGE = 2;
export const EXIT_STORE = 3;

/** What the CLI writes to and reads from; the real process in production, buffers in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** A bad command line: printed as one line plus the usage, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type GoldCommand =
  | { command: 'help' }
  | {
      command: 'publish';
      dataset: GoldDatasetName;
      inputs: string[];
      maxBad: number;
      concurrency: number;
      modelVersion: string | null;
      snapshotId: string | undefined;
    }
  | { command: 'status'; json: boolean }
  | { command: 'rollback'; dataset: GoldDatasetName }
  | { command: 'prune'; dataset: GoldDatasetName | undefined; graceHours: number; concurrency: number }
  | { command: 'sample'; argv: string[] };

type Options = NonNullable<ParseArgsConfig['options']>;

interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  tokens: {
    kind: 'option' | 'positional' | 'option-terminator';
    index: number;
    name?: string;
    value?: string;
  }[];
}

const parseOptions = (
  command: string,
  args: string[],
  options: Options,
  allowPositionals = false,
): ParsedArgs => {
  const config: ParseArgsConfig & { tokens: true } = {
    args,
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    allowPositionals,
    strict: true,
    tokens: true,
  };
  try {
    return parseArgs(config);
  } catch (error) {
    // parseArgs messages carry a second sentence about positionals; the first says it all.
    const firstLine = (error as Error).message.split('\n')[0] ?? '';
    const message = firstLine.split(/\. (?=To specify)/)[0] ?? firstLine;
    throw new UsageError(`${command}: ${message}`);
  }
};

const datasetOption = (
  command: string,
  value: string | undefined,
  required: boolean,
): GoldDatasetName | undefined => {
  if (value === undefined) {
    if (required) throw new UsageError(`${command}: --dataset is required`);
    return undefined;
  }
  if (!isGoldDatasetName(value)) {
    throw new UsageError(
      `${command}: unknown dataset "${value}" (expected one of ${goldDatasetNames.join(', ')})`,
    );
  }
  return value;
};

const numberOption = (
  command: string,
  name: string,
  value: string | undefined,
  fallback: number,
  { min, max, integer }: { min: number; max: number; integer: boolean },
): number => {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (
    value.trim() === '' ||
    !Number.isFinite(number) ||
    (integer && !Number.isInteger(number)) ||
    number < min ||
    number > max
  ) {
    throw new UsageError(
      `${command}: --${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${value}"`,
    );
  }
  return number;
};

const checkInput = (file: string): void => {
  if (inputFormatOf(file) === undefined) {
    throw new UsageError(
      `publish: ${file}: unsupported input format (use .jsonl, .json, .jsonl.gz, .gz or .parquet)`,
    );
  }
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw new UsageError(`publish: input file not found: ${file}`);
  }
  if (!isFile) throw new UsageError(`publish: input is not a file: ${file}`);
};

/** Parses the command line into a command; throws {@link UsageError}. */
export const parseCommand = (argv: readonly string[]): GoldCommand => {
  const [command, ...args] = argv;
  switch (command) {
    case undefined:
      throw new UsageError('a command is required');
    case 'help':
    case '--help':
    case '-h':
      return { command: 'help' };
    case 'sample':
      return { command: 'sample', argv: args };
    case 'publish': {
      const { values, positionals, tokens } = parseOptions(
        command,
        args,
        {
          dataset: { type: 'string' },
          input: { type: 'string', multiple: true },
          'max-bad': { type: 'string' },
          concurrency: { type: 'string' },
          'model-version': { type: 'string' },
          'snapshot-id': { type: 'string' },
        },
        true,
      );
      if (values.help === true) return { command: 'help' };
      const dataset = datasetOption(command, values.dataset as string | undefined, true) as GoldDatasetName;
      // `--input a.jsonl b.jsonl` (a shell glob): the positionals after the first --input are inputs too.
      const firstInput = tokens.find((token) => token.kind === 'option' && token.name === 'input')?.index;
      const stray = tokens.find(
        (token) => token.kind === 'positional' && (firstInput === undefined || token.index < firstInput),
      );
      if (stray !== undefined) throw new UsageError(`${command}: unexpected argument "${stray.value ?? ''}"`);
      const inputs = [...((values.input as string[] | undefined) ?? []), ...positionals];
      if (inputs.length === 0) throw new UsageError(`${command}: --input is required`);
      inputs.forEach(checkInput);
      const snapshotId = values['snapshot-id'] as string | undefined;
      if (snapshotId !== undefined && !goldId.safeParse(snapshotId).success) {
        throw new UsageError(`${command}: --snapshot-id must be 1-128 letters, digits, "_", "." or "-"`);
      }
      const modelVersion = (values['model-version'] as string | undefined) ?? null;
      if (modelVersion !== null && (modelVersion.length === 0 || modelVersion.length > 200)) {
        throw new UsageError(`${command}: --model-version must be 1-200 characters`);
      }
      return {
        command,
        dataset,
        inputs,
        maxBad: numberOption(command, 'max-bad', values['max-bad'] as string | undefined, 0, {
          min: 0,
          max: Number.MAX_SAFE_INTEGER,
          integer: true,
        }),
        concurrency: numberOption(command, 'concurrency', values.concurrency as string | undefined, 4, {
          min: 1,
          max: 64,
          integer: true,
        }),
        modelVersion,
        snapshotId,
      };
    }
    case 'status': {
      const { values } = parseOptions(command, args, { json: { type: 'boolean' } });
      if (values.help === true) return { command: 'help' };
      return { command, json: values.json === true };
    }
    case 'rollback': {
      const { values } = parseOptions(command, args, { dataset: { type: 'string' } });
      if (values.help === true) return { command: 'help' };
      return {
        command,
        dataset: datasetOption(command, values.dataset as string | undefined, true) as GoldDatasetName,
      };
    }
    case 'prune': {
      const { values } = parseOptions(command, args, {
        dataset: { type: 'string' },
        'grace-hours': { type: 'string' },
        concurrency: { type: 'string' },
      });
      if (values.help === true) return { command: 'help' };
      return {
        command,
        dataset: datasetOption(command, values.dataset as string | undefined, false),
        graceHours: numberOption(command, 'grace-hours', values['grace-hours'] as string | undefined, 24, {
          min: 0,
          max: 24 * 365,
          integer: false,
        }),
        concurrency: numberOption(command, 'concurrency', values.concurrency as string | undefined, 4, {
          min: 1,
          max: 64,
          integer: true,
        }),
      };
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
};

const runSample = async (argv: string[], io: CliIo): Promise<number> => {
  // Loaded only when asked for: publishing never loads the sample builder (and its catalogue code).
  const { runSampleCommand } = await import('../sample/sample.command.js');
  return runSampleCommand(argv, { stdout: io.stdout, stderr: io.stderr });
};

/** Runs one gold command; returns the process exit code. Expected failures never print a stack. */
export const runGoldCli = async (argv: readonly string[], io: CliIo): Promise<number> => {
  let command: GoldCommand;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`gold: ${error.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (command.command === 'help') {
    io.stdout(`${USAGE}\n`);
    return EXIT_OK;
  }
  if (command.command === 'sample') return runSample(command.argv, io);

  let config;
  try {
    config = loadCosmosConfig(io.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`gold: ${error.message}\n`);
    return EXIT_USAGE;
  }

  const client = createCosmosClient(config);
  const database = client.database(config.database);
  const reporter: PublisherReporter = {
    info: (message) => io.stdout(`${message}\n`),
    warn: (message) => io.stderr(`warning: ${message}\n`),
    badRecord: (bad) => io.stderr(`${bad.file}:${bad.line}: ${bad.reason}\n`),
  };
  const publisher = new GoldPublisher({
    store: new GoldStoreRepository(database),
    manifests: new ManifestRepository(database),
    reporter,
  });

  try {
    switch (command.command) {
      case 'publish':
        await publisher.publish({
          dataset: command.dataset,
          inputs: command.inputs,
          maxBad: command.maxBad,
          concurrency: command.concurrency,
          modelVersion: command.modelVersion,
          ...(command.snapshotId === undefined ? {} : { snapshotId: command.snapshotId }),
        });
        return EXIT_OK;
      case 'status': {
        const statuses = await publisher.status();
        io.stdout(command.json ? `${JSON.stringify(statuses, null, 2)}\n` : `${formatStatus(statuses)}\n`);
        return EXIT_OK;
      }
      case 'rollback':
        await publisher.rollback(command.dataset);
        return EXIT_OK;
      case 'prune':
        await publisher.prune({
          ...(command.dataset === undefined ? {} : { dataset: command.dataset }),
          graceHours: command.graceHours,
          concurrency: command.concurrency,
        });
        return EXIT_OK;
    }
  } catch (error) {
    if (error instanceof GoldRefusedError) {
      io.stderr(`gold ${command.command}: ${error.message}\n`);
      return EXIT_REJECTED;
    }
    if (error instanceof GoldStoreStateError || error instanceof StoreError) {
      io.stderr(`gold ${command.command}: store failure: ${error.message}\n`);
      return EXIT_STORE;
    }
    throw error;
  } finally {
    client.dispose();
  }
};
