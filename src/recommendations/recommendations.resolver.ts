import { Args, Context, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';

import { CatalogTitle } from '../catalog/catalog-title.js';
import { CurrentPrincipal } from '../modules/auth/current-principal.decorator.js';
import type { Principal } from '../modules/auth/principal.js';
import { Roles } from '../modules/auth/roles.decorator.js';
import { PlaybackProgressInput } from './dto/playback-progress.input.js';
import type { HomeRow } from './home-page.builder.js';
import { HomeService } from './home.service.js';
import {
  ContinueWatchingItem,
  DeviceClassEnum,
  HomePage,
  PopularList,
  Row,
  RowKind,
} from './models/home-page.model.js';
import { RecommendationConnection } from './models/recommendation.model.js';
import { PlaybackService } from './playback.service.js';
import { RecommendationPageError } from './recommendation-list.js';
import { badArgument, withGraphQLErrors } from './recommendations.errors.js';
import { RowLimitError } from './row-limits.js';

const asTitle = (title: CatalogTitle) => title as never;

const toRow = (row: HomeRow): Row => ({
  id: row.id,
  kind: RowKind[row.kind],
  heading: row.heading,
  because: row.because === null ? null : asTitle(row.because),
  titles: row.titles.map(asTitle),
  continueWatching:
    row.progress === undefined
      ? null
      : row.progress.map((entry, index) => ({
          title: asTitle(row.titles[index]!),
          positionSeconds: entry.positionSeconds,
          durationSeconds: entry.durationSeconds,
          updatedAt: new Date(entry.updatedAt),
        })),
});

/** Typed argument errors of the page builders, as the feature's own errors. */
const rethrowArgumentErrors = (error: unknown): never => {
  if (error instanceof RowLimitError || error instanceof RecommendationPageError) {
    throw badArgument(error.argument, error.message.replace(/^Argument "[^"]+" /, '').replace(/\.$/, ''));
  }
  throw error;
};

/** The device path: home page, recommendations, popular lists and playback progress. */
@Resolver()
export class RecommendationsResolver {
  constructor(
    private readonly homes: HomeService,
    private readonly playback: PlaybackService,
  ) {}

  @Roles('device')
  @Query(() => HomePage, {
    description: "A profile's home page. Never fails because a dependency did: see meta.",
  })
  home(
    @Args('profileId', { type: () => ID }) profileId: string,
    @Args('device', { type: () => DeviceClassEnum }) device: DeviceClassEnum,
    @Args('rows', { type: () => Int, nullable: true }) rows: number | null,
    @Args('titlesPerRow', { type: () => Int, nullable: true }) titlesPerRow: number | null,
    @CurrentPrincipal() principal: Principal,
    @Context() context: object,
  ): Promise<HomePage> {
    return withGraphQLErrors(async () => {
      const page = await this.homes
        .home({ principal, profileId, pin: context }, device, rows, titlesPerRow)
        .catch(rethrowArgumentErrors);
      return { profileId: page.profileId, rows: page.rows.map(toRow), meta: page.meta };
    });
  }

  @Roles('device')
  @Query(() => RecommendationConnection, {
    description: "A profile's ranked recommendations with their reasons.",
  })
  recommendations(
    @Args('profileId', { type: () => ID }) profileId: string,
    @Args('first', { type: () => Int, defaultValue: 20 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
    @CurrentPrincipal() principal: Principal,
    @Context() context: object,
  ): Promise<RecommendationConnection> {
    return withGraphQLErrors(async () => {
      const { page, meta } = await this.homes
        .recommendations({ principal, profileId, pin: context }, first, after)
        .catch(rethrowArgumentErrors);
      return {
        edges: page.edges.map((edge) => ({
          cursor: edge.cursor,
          node: { title: asTitle(edge.node.title), score: edge.node.score, reason: edge.node.reason },
        })),
        pageInfo: { hasNextPage: page.pageInfo.hasNextPage, endCursor: page.pageInfo.endCursor },
        meta,
      };
    });
  }

  @Roles('device')
  @Query(() => PopularList, {
    description: 'Popular titles in the viewer’s country (from the token) for a device.',
  })
  popular(
    @Args('device', { type: () => DeviceClassEnum }) device: DeviceClassEnum,
    @Args('first', { type: () => Int, defaultValue: 20 }) first: number,
    @CurrentPrincipal() principal: Principal,
    @Context() context: object,
  ): Promise<PopularList> {
    return withGraphQLErrors(async () => {
      const list = await this.homes.popularTitles(principal, device, first, context);
      return { country: list.country, device, titles: list.titles.map(asTitle), meta: list.meta };
    });
  }

  @Roles('device')
  @Mutation(() => ContinueWatchingItem, {
    description:
      'Stores where a profile is in a title; the next home page on any device continues from there.',
  })
  recordPlaybackProgress(
    @Args('input') input: PlaybackProgressInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: object,
  ): Promise<ContinueWatchingItem> {
    return withGraphQLErrors(async () => {
      const recorded = await this.playback.record(principal, input, context);
      return { ...recorded, title: asTitle(recorded.title) };
    });
  }
}
