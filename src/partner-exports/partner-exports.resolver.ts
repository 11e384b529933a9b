import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';

import { CurrentPrincipal } from '../modules/auth/current-principal.decorator.js';
import type { Principal } from '../modules/auth/principal.js';
import { Roles } from '../modules/auth/roles.decorator.js';
import type { ExportRecord } from './export-record.js';
import {
  ExportFormat,
  ExportStatus,
  PartnerDataset,
  PartnerExport,
  PartnerExportConnection,
  PartnerExportInput,
} from './models/partner-export.model.js';
import { withGraphQLErrors } from './partner-exports.errors.js';
import { EXPORT_LIMITS, PartnerExportsService, type ExportsPageView } from './partner-exports.service.js';

/** Partners request and follow exports of their own data; operators see every partner's. */
@Resolver(() => PartnerExport)
export class PartnerExportsResolver {
  constructor(private readonly service: PartnerExportsService) {}

  @Roles('partner')
  @Mutation(() => PartnerExport, {
    description:
      "Queues an export of the caller's own data and returns it at once; the same dataset, range, format and gold snapshot return the existing export.",
  })
  requestPartnerExport(
    @Args('input') input: PartnerExportInput,
    @CurrentPrincipal() principal: Principal,
  ): Promise<PartnerExport> {
    return withGraphQLErrors(async () => toView(await this.service.request(principal, input)));
  }

  @Roles('partner', 'ops')
  @Query(() => PartnerExportConnection, {
    description: "The caller's exports (operators: everyone's), newest first.",
  })
  partnerExports(
    @CurrentPrincipal() principal: Principal,
    @Args('first', {
      type: () => Int,
      nullable: true,
      description: `Exports per page, 1 to ${EXPORT_LIMITS.listMax} (default ${EXPORT_LIMITS.listDefault}).`,
    })
    first: number | undefined,
    @Args('after', { type: () => String, nullable: true }) after: string | undefined,
  ): Promise<PartnerExportConnection> {
    return withGraphQLErrors(async () => {
      const page: ExportsPageView = await this.service.list(
        principal,
        first ?? undefined,
        after ?? undefined,
      );
      return { ...page, edges: page.edges.map((edge) => ({ cursor: edge.cursor, node: toView(edge.node) })) };
    });
  }

  @Roles('partner', 'ops')
  @Query(() => PartnerExport, {
    nullable: true,
    description: "An export; null when unknown or another partner's.",
  })
  partnerExport(
    @Args('id', { type: () => ID }) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<PartnerExport | null> {
    return withGraphQLErrors(async () => {
      const record = await this.service.get(principal, id);
      return record === null ? null : toView(record);
    });
  }
}

const toView = (record: ExportRecord): PartnerExport => ({
  id: record.id,
  partnerId: record.partnerId,
  dataset: record.dataset as PartnerDataset,
  from: record.from,
  to: record.to,
  format: record.format as ExportFormat,
  goldSnapshotId: record.goldSnapshotId,
  trigger: record.trigger,
  status: record.status as ExportStatus,
  error: record.error,
  rowCount: record.rowCount,
  location: record.location,
  files: record.files,
  requestedAt: new Date(record.requestedAt),
  completedAt: record.completedAt === null ? null : new Date(record.completedAt),
});
