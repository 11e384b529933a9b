import { UseFilters } from '@nestjs/common';
import { Args, Context, ID, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';

import { AnyRole } from '../modules/auth/roles.decorator.js';
import { CatalogErrorFilter } from './catalog-error.filter.js';
import type { TitlePage } from './catalog-snapshot.js';
import type { CatalogTitle } from './catalog-title.js';
import { badArgument, withGraphQLErrors } from './catalog.errors.js';
import { CatalogService } from './catalog.service.js';
import { CATALOG_LIMITS, countryArgument, intArgument } from './dto/argument-rules.js';
import { BrowseArgs, toBrowseQuery } from './dto/browse.args.js';
import { SearchArgs, toSearchQuery } from './dto/search.args.js';
import { TitleConnection } from './models/title-connection.model.js';
import { Artwork, ArtworkSize, Title } from './models/title.model.js';

/**
 * Catalogue queries and the Title fields that take arguments. Field resolvers run without Nest's
 * exception filters, so they map their own errors (withGraphQLErrors); root queries rely on
 * CatalogErrorFilter. Catalogue queries, served from the in-memory snapshot. The GraphQL context pins the snapshot, so
 * all catalogue fields of one request read the same one even if a new snapshot is swapped in.
 */
@Resolver(() => Title)
@UseFilters(CatalogErrorFilter)
export class CatalogResolver {
  constructor(private readonly catalog: CatalogService) {}

  @AnyRole()
  @Query(() => Title, {
    nullable: true,
    description: 'A title by id; null when the catalogue has no such title.',
  })
  title(@Args('id', { type: () => ID }) id: string, @Context() context: object): CatalogTitle | null {
    return this.catalog.getTitle(id, context);
  }

  @AnyRole()
  @Query(() => [Title], {
    nullable: 'items',
    description: `Titles by id, in the order asked (at most ${CATALOG_LIMITS.titlesIds}); null for each unknown id.`,
  })
  titles(
    @Args('ids', { type: () => [ID] }) ids: string[],
    @Context() context: object,
  ): (CatalogTitle | null)[] {
    if (ids.length > CATALOG_LIMITS.titlesIds) {
      throw badArgument('ids', `must hold at most ${CATALOG_LIMITS.titlesIds} ids (got ${ids.length})`);
    }
    return this.catalog.getTitles(ids, context);
  }

  @AnyRole()
  @Query(() => TitleConnection, {
    description: 'Titles matching the filters, newest first, a page at a time.',
  })
  browse(@Args() args: BrowseArgs, @Context() context: object): TitlePage {
    const { filter, first, after } = toBrowseQuery(args);
    return this.catalog.browse(filter, first, after, context);
  }

  @AnyRole()
  @Query(() => [Title], {
    description: 'Titles whose name, cast or directors match every word, best match first.',
  })
  search(@Args() args: SearchArgs, @Context() context: object): CatalogTitle[] {
    const { text, first } = toSearchQuery(args);
    return this.catalog.search(text, first, context);
  }

  @AnyRole()
  @Query(() => [String], { description: 'Every genre of the catalogue, alphabetically.' })
  genres(@Context() context: object): readonly string[] {
    return this.catalog.genres(context);
  }

  @ResolveField('cast', () => [String], { description: 'The first cast members, in billing order.' })
  cast(
    @Parent() title: CatalogTitle,
    @Args('first', {
      type: () => Int,
      nullable: true,
      defaultValue: CATALOG_LIMITS.castFirst.default,
      description: `${CATALOG_LIMITS.castFirst.min} to ${CATALOG_LIMITS.castFirst.max}.`,
    })
    first: number | null,
  ): readonly string[] {
    const count = withGraphQLErrors(() => intArgument('first', first, CATALOG_LIMITS.castFirst));
    return count >= title.cast.length ? title.cast : title.cast.slice(0, count);
  }

  @ResolveField('artwork', () => Artwork)
  artwork(
    @Parent() title: CatalogTitle,
    @Args('size', { type: () => ArtworkSize, nullable: true, defaultValue: ArtworkSize.MEDIUM })
    size: ArtworkSize | null,
  ): Artwork {
    return title.artwork[size ?? ArtworkSize.MEDIUM];
  }

  @ResolveField('availableIn', () => Boolean, {
    description: 'Whether the title is licensed today (UTC date) in the country (ISO 3166-1 alpha-2).',
  })
  availableIn(@Parent() title: CatalogTitle, @Args('country') country: string): boolean {
    withGraphQLErrors(() => countryArgument('country', country));
    return this.catalog.isAvailable(title, country);
  }
}
