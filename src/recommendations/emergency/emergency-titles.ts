import { z } from 'zod';

import { CatalogSnapshot } from '../../catalog/catalog-snapshot.js';
import type { CatalogTitle } from '../../catalog/catalog-title.js';
import { catalogRecord } from '../../gold/contract/catalog.schema.js';
import { countryCode, goldId } from '../../gold/contract/common.schema.js';
import bundled from './emergency-titles.json' with { type: 'json' };

/**
 * The popular titles bundled with the service (made by build-emergency-list.ts), for the last step of
 * the fallback chain: a cold start with neither Redis, Cosmos nor a catalogue snapshot.
 */
export interface EmergencyTitles {
  /** The bundled titles by id. */
  readonly titles: ReadonlyMap<string, CatalogTitle>;
  /** Per country (ISO 3166-1 alpha-2): bundled titles licensed there, best first. */
  readonly byCountry: Readonly<Record<string, readonly string[]>>;
  /** Every bundled title, best first across countries: for a country without its own list. */
  readonly global: readonly string[];
  /**
   * The bundled titles as a catalogue snapshot, so that `buildHomePage` serves an emergency page
   * under the same serve-time rules (licences, maturity) as any other.
   */
  readonly catalog: CatalogSnapshot;
}

export const EMERGENCY_SNAPSHOT_ID = 'emergency';

const emergencyFile = z
  .object({
    global: z.array(goldId),
    byCountry: z.record(countryCode, z.array(goldId)),
    titles: z.array(catalogRecord).min(1),
  })
  .superRefine((file, context) => {
    const ids = new Set(file.titles.map((record) => record.titleId));
    const lists = [['global', file.global], ...Object.entries(file.byCountry)] as const;
    for (const [name, list] of lists) {
      for (const titleId of list) {
        if (!ids.has(titleId))
          context.addIssue({ code: 'custom', message: `${name} lists unknown title ${titleId}` });
      }
    }
  });

let loaded: EmergencyTitles | undefined;

/** The bundled emergency titles, validated and built on first use. */
export const emergencyTitles = (): EmergencyTitles => {
  if (loaded === undefined) {
    const file = emergencyFile.parse(bundled);
    const catalog = CatalogSnapshot.build(EMERGENCY_SNAPSHOT_ID, file.titles);
    const titles = new Map<string, CatalogTitle>();
    for (const { titleId } of file.titles) titles.set(titleId, catalog.get(titleId) as CatalogTitle);
    loaded = Object.freeze({
      titles,
      byCountry: Object.freeze(file.byCountry),
      global: Object.freeze(file.global),
      catalog,
    });
  }
  return loaded;
};

/** The emergency popular list of a country: its own, else the global one. */
export const emergencyPopular = (country: string): readonly string[] => {
  const { byCountry, global } = emergencyTitles();
  return byCountry[country] ?? global;
};
