import 'reflect-metadata';

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { GraphQLSchemaHost } from '@nestjs/graphql';
import { printSchema } from 'graphql';

import { createApp } from '../app.factory.js';
import { goldJsonSchemas } from '../gold/contract/json-schema.js';
import { loadConfig } from '../modules/config/app-config.js';
import { configTable } from '../modules/config/config-table.js';

/**
 * Writes the generated artifacts that are committed: `schema.gql` (from the code-first resolvers)
 * and `gold-schema/*.json` (from the gold contract). With `--check`, compares instead and exits 1
 * on drift, naming each file that differs.
 */
const root = process.cwd();
const check = process.argv.includes('--check');

const graphqlSchema = async (): Promise<string> => {
  // The schema is built at init; nothing connects to Cosmos before a request needs it.
  const config = loadConfig({
    COSMOS_ENDPOINT: 'https://localhost:1/',
    COSMOS_KEY: 'unused',
    LOG_LEVEL: 'silent',
    AUTH_ISSUER: 'https://localhost:1/unused',
    AUTH_AUDIENCE: 'unused',
    AUTH_JWKS_URL: 'https://localhost:1/unused',
  });
  const app = await createApp(config);
  await app.init();
  const schema = app.get(GraphQLSchemaHost).schema;
  await app.close();
  return `# Generated from the code-first resolvers by \`npm run generate\`. Do not edit.\n\n${printSchema(schema)}\n`;
};

const artifacts: Record<string, string> = { 'schema.gql': await graphqlSchema() };
for (const [file, schema] of Object.entries(goldJsonSchemas())) {
  artifacts[join('gold-schema', file)] = `${JSON.stringify(schema, null, 2)}\n`;
}

const readmePath = join(root, 'README.md');
const tableStart = '<!-- config-table:start -->';
const tableEnd = '<!-- config-table:end -->';
const readme = readFileSync(readmePath, 'utf8');
const [before, rest] = readme.split(tableStart);
const after = rest?.split(tableEnd)[1];
if (before === undefined || after === undefined) {
  process.stderr.write(
    `README.md lacks the ${tableStart} … ${tableEnd} markers of the configuration table.\n`,
  );
  process.exit(1);
}
artifacts['README.md'] = `${before}${tableStart}\n${configTable()}\n${tableEnd}${after}`;

const drifted: string[] = [];
for (const [file, content] of Object.entries(artifacts)) {
  const path = join(root, file);
  if (check) {
    const current = (() => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    })();
    if (current !== content) drifted.push(file);
  } else {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  }
}
if (drifted.length > 0) {
  process.stderr.write(
    `Generated files differ from the code: ${drifted.join(', ')}\nRun \`npm run generate\` and commit the result.\n`,
  );
  process.exit(1);
}
process.stdout.write(
  check ? 'Generated files are up to date.\n' : `Wrote ${Object.keys(artifacts).join(', ')}\n`,
);
