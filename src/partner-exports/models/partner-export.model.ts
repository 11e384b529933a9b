import { Field, GraphQLISODateTime, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

import { PageInfo } from '../../catalog/models/page-info.model.js';

export enum PartnerDataset {
  TITLE_PERFORMANCE = 'TITLE_PERFORMANCE',
}
export enum ExportFormat {
  PARQUET = 'PARQUET',
  CSV = 'CSV',
}
export enum ExportStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}
registerEnumType(PartnerDataset, {
  name: 'PartnerDataset',
  description: 'TITLE_PERFORMANCE: per title, day and country: views, hours viewed, completion rate.',
});
registerEnumType(ExportFormat, { name: 'ExportFormat' });
registerEnumType(ExportStatus, {
  name: 'ExportStatus',
  description: 'SUCCEEDED only once every file and `_SUCCESS` are written; FAILED with a reason in `error`.',
});

@InputType()
export class PartnerExportInput {
  @Field(() => PartnerDataset)
  dataset!: PartnerDataset;

  @Field({ description: 'First day (YYYY-MM-DD, UTC), inclusive.' })
  from!: string;

  @Field({
    description: 'Last day (YYYY-MM-DD, UTC), inclusive; at most 366 days after `from`, not in the future.',
  })
  to!: string;

  @Field(() => ExportFormat, { defaultValue: ExportFormat.PARQUET })
  format!: ExportFormat;
}

@ObjectType({ description: 'A file of an export, in the exports blob container.' })
export class ExportFile {
  @Field()
  path!: string;

  @Field(() => Int)
  rows!: number;

  @Field(() => Int)
  bytes!: number;

  @Field({ description: 'SHA-256 of the file, lowercase hex.' })
  sha256!: string;
}

@ObjectType({ description: "An export of a partner's own data into its Data Share folder." })
export class PartnerExport {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  partnerId!: string;

  @Field(() => PartnerDataset)
  dataset!: PartnerDataset;

  @Field()
  from!: string;

  @Field()
  to!: string;

  @Field(() => ExportFormat)
  format!: ExportFormat;

  @Field({ description: 'The gold snapshot of partner metrics the export reads.' })
  goldSnapshotId!: string;

  @Field({ description: 'REQUEST (asked for through the API) or SCHEDULE (the daily export).' })
  trigger!: string;

  @Field(() => ExportStatus)
  status!: ExportStatus;

  @Field(() => String, { nullable: true, description: 'Why it failed.' })
  error!: string | null;

  @Field(() => Int, { nullable: true })
  rowCount!: number | null;

  @Field(() => String, { nullable: true, description: 'URL of the blob folder once it succeeded.' })
  location!: string | null;

  @Field(() => [ExportFile])
  files!: ExportFile[];

  @Field(() => GraphQLISODateTime)
  requestedAt!: Date;

  @Field(() => GraphQLISODateTime, { nullable: true })
  completedAt!: Date | null;
}

@ObjectType()
export class PartnerExportEdge {
  @Field({ description: 'Resumes after the page this export is on.' })
  cursor!: string;

  @Field(() => PartnerExport)
  node!: PartnerExport;
}

@ObjectType({ description: 'Exports, newest request first.' })
export class PartnerExportConnection {
  @Field(() => [PartnerExportEdge])
  edges!: PartnerExportEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
