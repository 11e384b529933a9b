import { Args, ID, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';

import { Roles } from '../modules/auth/roles.decorator.js';
import { Segment, SegmentConnection, SegmentMemberConnection } from './models/segment.model.js';
import { withGraphQLErrors } from './segments.errors.js';
import {
  SEGMENT_LIMITS,
  SegmentsService,
  type MemberView,
  type Page,
  type SegmentView,
} from './segments.service.js';

/**
 * The marketing API: segment definitions, sizes, consented members and a profile's segments, for
 * marketing systems and operators. Field resolvers run without Nest's exception filters, so every
 * resolver maps its own errors.
 */
@Resolver(() => Segment)
export class SegmentsResolver {
  constructor(private readonly service: SegmentsService) {}

  @Roles('marketing', 'ops')
  @Query(() => SegmentConnection, { description: 'The active segments, ordered by id.' })
  segments(
    @Args('first', {
      type: () => Int,
      nullable: true,
      description: `Segments per page, 1 to ${SEGMENT_LIMITS.segmentsMax} (default ${SEGMENT_LIMITS.segmentsDefault}).`,
    })
    first: number | undefined,
    @Args('after', { type: () => String, nullable: true }) after: string | undefined,
  ): Promise<Page<SegmentView>> {
    return withGraphQLErrors(() => this.service.list(first ?? undefined, after ?? undefined));
  }

  @Roles('marketing', 'ops')
  @Query(() => Segment, {
    nullable: true,
    description: 'A segment of the active snapshot; null when unknown.',
  })
  segment(@Args('id', { type: () => ID }) id: string): Promise<SegmentView | null> {
    return withGraphQLErrors(() => this.service.get(id));
  }

  @Roles('marketing', 'ops')
  @Query(() => [Segment], {
    description:
      'The active segments the profile belongs to with marketing consent, ordered by id; empty for an unknown profile or one without consent.',
  })
  profileSegments(@Args('profileId', { type: () => ID }) profileId: string): Promise<SegmentView[]> {
    return withGraphQLErrors(() => this.service.ofProfile(profileId));
  }

  @ResolveField('members', () => SegmentMemberConnection, {
    description: `Consented members, at most ${SEGMENT_LIMITS.membersMax} a page. A cursor stays on the snapshot its listing began on; SNAPSHOT_EXPIRED once that snapshot is pruned.`,
  })
  members(
    @Parent() segment: SegmentView,
    @Args('first', {
      type: () => Int,
      nullable: true,
      description: `Members per page, 1 to ${SEGMENT_LIMITS.membersMax} (default ${SEGMENT_LIMITS.membersDefault}).`,
    })
    first: number | undefined,
    @Args('after', { type: () => String, nullable: true }) after: string | undefined,
  ): Promise<Page<MemberView>> {
    return withGraphQLErrors(() => this.service.members(segment, first ?? undefined, after ?? undefined));
  }
}
