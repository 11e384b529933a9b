// Cosmos DB for NoSQL: the gold database, its containers with the partition keys of the gold
// contract (src/gold/contract/gold-datasets.ts, manifests: src/gold/gold-store.repository.ts) and the
// service's own `exports` container (src/partner-exports/export-record.ts), and data-plane role
// assignments (the service and the publisher sign in with Entra ID).

param accountName string
param location string
param tags object
@allowed(['serverless', 'autoscale'])
param capacityMode string
param maxThroughput object
param additionalRegions array
param databaseName string
param disableLocalAuth bool
@description('Object ids that get the Cosmos DB Built-in Data Contributor role on the account.')
param dataContributorPrincipalIds array

var serverless = capacityMode == 'serverless'

// Cosmos DB Built-in Data Contributor (read, write, query, delete items; read container metadata).
var dataContributorRoleId = '00000000-0000-0000-0000-000000000002'

// Indexing: everything the service and the publisher filter or sort on stays indexed (snapshotId,
// segmentId, type, partnerId, day, status, requestedAt, lease.until); the large arrays and long
// texts that nothing queries are excluded, which keeps the RU cost of every gold write down.
var etag = { path: '/"_etag"/?' }
var containers = [
  {
    name: 'catalog'
    partitionKey: '/id'
    excludedPaths: [
      { path: '/synopsis/?' }
      { path: '/genres/*' }
      { path: '/cast/*' }
      { path: '/directors/*' }
      { path: '/originCountries/*' }
      { path: '/availability/*' }
      { path: '/artwork/*' }
      etag
    ]
  }
  {
    // Point reads only (id + profileId); the publisher counts and lists a snapshot by snapshotId.
    name: 'profiles'
    partitionKey: '/profileId'
    excludedPaths: [
      { path: '/watched/*' }
      { path: '/continueWatching/*' }
      { path: '/recommendations/*' }
      { path: '/tasteGenres/*' }
      { path: '/segments/*' }
      etag
    ]
  }
  {
    name: 'popular'
    partitionKey: '/country'
    excludedPaths: [
      { path: '/titleIds/*' }
      etag
    ]
  }
  {
    name: 'segments'
    partitionKey: '/segmentId'
    excludedPaths: [
      { path: '/description/?' }
      { path: '/definition/?' }
      etag
    ]
  }
  {
    name: 'partner_metrics'
    partitionKey: '/partnerId'
    excludedPaths: [
      { path: '/byCountry/*' }
      etag
    ]
  }
  {
    name: 'manifests'
    partitionKey: '/dataset'
    excludedPaths: [
      { path: '/snapshots/*' }
      etag
    ]
  }
  {
    // Written by the service (export records), not by the gold publisher.
    name: 'exports'
    partitionKey: '/partnerId'
    excludedPaths: [
      { path: '/files/*' }
      etag
    ]
  }
]

var primaryRegion = [
  {
    locationName: location
    failoverPriority: 0
    isZoneRedundant: false
  }
]
var readRegions = [
  for (region, i) in additionalRegions: {
    locationName: region
    failoverPriority: i + 1
    isZoneRedundant: false
  }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: serverless ? primaryRegion : concat(primaryRegion, readRegions)
    enableAutomaticFailover: !serverless && !empty(additionalRegions)
    capabilities: serverless ? [{ name: 'EnableServerless' }] : []
    disableLocalAuth: disableLocalAuth
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for c in containers: {
    parent: database
    name: c.name
    properties: {
      resource: {
        id: c.name
        partitionKey: {
          paths: [c.partitionKey]
          kind: 'Hash'
          version: 2
        }
        indexingPolicy: {
          indexingMode: 'consistent'
          automatic: true
          includedPaths: [
            { path: '/*' }
          ]
          excludedPaths: c.excludedPaths
        }
      }
      options: serverless ? {} : { autoscaleSettings: { maxThroughput: maxThroughput[c.name] } }
    }
  }
]

// One at a time: Cosmos DB refuses concurrent role-assignment writes on one account.
@batchSize(1)
resource dataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = [
  for principalId in dataContributorPrincipalIds: {
    parent: account
    name: guid(account.id, principalId, dataContributorRoleId)
    properties: {
      roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
      principalId: principalId
      scope: account.id
    }
  }
]

output endpoint string = account.properties.documentEndpoint
output name string = account.name
