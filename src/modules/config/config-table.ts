import { z } from 'zod';

import { configVariables } from './config.schema.js';

const defaultOf = (schema: z.ZodType): string => {
  if (!(schema instanceof z.ZodDefault)) return '';
  const value: unknown = schema.def.defaultValue;
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(',');
  if (typeof value === 'object' && value !== null) return Object.keys(value).length === 0 ? '(none)' : '';
  return String(value);
};

/** The README's configuration table, generated from the config schema so the two never disagree. */
export const configTable = (): string => {
  const rows = Object.entries(configVariables).map(([name, spec]) => {
    const schema = spec.schema as z.ZodType;
    const required = !(schema instanceof z.ZodDefault) && !schema.safeParse(undefined).success;
    const fallback = defaultOf(schema);
    const defaultCell = required ? '**required**' : fallback === '' ? '—' : `\`${fallback}\``;
    const description = spec.sensitive ? `${spec.description} *Secret: never logged.*` : spec.description;
    return `| \`${name}\` | ${defaultCell} | ${description.replaceAll('|', '\\|')} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
};
