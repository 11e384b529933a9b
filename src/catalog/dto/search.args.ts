import { ArgsType, Field, Int } from '@nestjs/graphql';

import { badArgument } from '../catalog.errors.js';
import { CATALOG_LIMITS, intArgument, lengthArgument } from './argument-rules.js';

const { searchFirst, searchText } = CATALOG_LIMITS;

@ArgsType()
export class SearchArgs {
  @Field({
    description: `Words to find in names, cast and directors (${searchText.min} to ${searchText.max} characters); the last word may be a prefix.`,
  })
  text!: string;

  @Field(() => Int, {
    nullable: true,
    defaultValue: searchFirst.default,
    description: `Titles to return, ${searchFirst.min} to ${searchFirst.max}.`,
  })
  first?: number | null;
}

export interface SearchQuery {
  text: string;
  first: number;
}

/** Checks the arguments; throws a BAD_ARGUMENT CatalogError naming the first one at fault. */
export const toSearchQuery = (args: SearchArgs): SearchQuery => {
  const text = lengthArgument('text', args.text, searchText);
  if (text.trim() === '') throw badArgument('text', 'must not be empty or only whitespace');
  return { text, first: intArgument('first', args.first, searchFirst) };
};
