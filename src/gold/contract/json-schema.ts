import { z } from 'zod';

import { goldDatasetNames, goldDatasets } from './gold-datasets.js';
import { manifestDocument } from './manifest.schema.js';

/**
 * JSON Schemas of the gold contract for the pipeline team, generated from the zod schemas the
 * publisher validates with. Cross-field rules (refinements) are not expressible in JSON Schema;
 * their messages are listed in docs/gold-contract.md and enforced by the publisher.
 */
export const goldJsonSchemas = (): Record<string, unknown> => {
  const schemas: Record<string, unknown> = {};
  for (const name of goldDatasetNames) {
    schemas[`${name}.schema.json`] = {
      ...z.toJSONSchema(goldDatasets[name].schema, { target: 'draft-2020-12', unrepresentable: 'any' }),
      $id: `https://flick.example/gold-schema/v1/${name}.schema.json`,
      title: `Flick gold v1: ${name} record`,
    };
  }
  schemas['manifest.schema.json'] = {
    ...z.toJSONSchema(manifestDocument, { target: 'draft-2020-12', unrepresentable: 'any' }),
    $id: 'https://flick.example/gold-schema/v1/manifest.schema.json',
    title: 'Flick gold v1: dataset manifest',
  };
  return schemas;
};
