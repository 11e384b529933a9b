import { ArgsType, Field, Int } from '@nestjs/graphql';

import type { BrowseFilter } from '../catalog-cursor.js';
import { TitleKind } from '../models/title.model.js';
import { CATALOG_LIMITS, countryArgument, intArgument, lengthArgument } from './argument-rules.js';

const { browseFirst, genre } = CATALOG_LIMITS;

@ArgsType()
export class BrowseArgs {
  @Field(() => String, {
    nullable: true,
    description: 'Only titles of this genre, exactly as `genres` lists it.',
  })
  genre?: string | null;

  @Field(() => TitleKind, { nullable: true })
  kind?: TitleKind | null;

  @Field(() => String, {
    nullable: true,
    description: 'Only titles licensed today in this country (ISO 3166-1 alpha-2, e.g. "US").',
  })
  availableIn?: string | null;

  @Field(() => Int, {
    nullable: true,
    defaultValue: browseFirst.default,
    description: `Titles per page, ${browseFirst.min} to ${browseFirst.max}.`,
  })
  first?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'The endCursor of the previous page, with the same filters.',
  })
  after?: string | null;
}

export interface BrowseQuery {
  filter: BrowseFilter;
  first: number;
  after: string | undefined;
}

/** Checks the arguments; throws a BAD_ARGUMENT CatalogError naming the first one at fault. */
export const toBrowseQuery = (args: BrowseArgs): BrowseQuery => ({
  filter: {
    genre: args.genre == null ? undefined : lengthArgument('genre', args.genre, genre),
    kind: args.kind ?? undefined,
    availableIn: args.availableIn == null ? undefined : countryArgument('availableIn', args.availableIn),
  },
  first: intArgument('first', args.first, browseFirst),
  after: args.after ?? undefined,
});
