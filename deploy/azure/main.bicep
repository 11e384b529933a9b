// Flick API on Azure: Container Apps behind Front Door, gold in Cosmos DB, Redis (Azure Managed Redis),
// partner exports in Blob storage. One resource group. See docs/deploy.md for every parameter.
//
//   az deployment group create -g <rg> -f deploy/azure/main.bicep \
//     -p @deploy/azure/main.parameters.json   (a copy of main.parameters.example.json)
//
// Every environment variable set on the container is read by the service
// (src/modules/config/config.schema.ts), except AZURE_CLIENT_ID (read by @azure/identity's
// DefaultAzureCredential) and OTEL_* (read by src/modules/telemetry/otel.ts).

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- naming and placement

@description('Prefix of every resource name: lowercase letters, digits and hyphens, starting with a letter.')
@minLength(2)
@maxLength(16)
param namePrefix string = 'flick'

@description('Region of every regional resource (Front Door is global).')
param location string = resourceGroup().location

@description('Tags put on every resource.')
param tags object = {}

// ---------------------------------------------------------------- the container

@description('Image of the Flick API, built from the Dockerfile, e.g. myregistry.azurecr.io/flick-api:1.4.2.')
param image string

@description('Name of an Azure Container Registry in this resource group to pull the image from with the managed identity (AcrPull is granted). Empty: the image is public or pulled without credentials.')
param acrName string = ''

@description('vCPU per replica (Consumption profile: 0.25 steps from 0.25 to 4, memory = 2 x CPU in Gi).')
@allowed(['0.5', '0.75', '1.0', '1.25', '1.5', '1.75', '2.0', '2.5', '3.0', '3.5', '4.0'])
param cpu string = '1.0'

@description('Memory per replica; must match the CPU (2 Gi per vCPU on the Consumption profile).')
param memory string = '2Gi'

@description('Replicas that always run. At least 2 keeps the API up through a replica restart.')
@minValue(1)
param minReplicas int = 2

@description('Most replicas the HTTP rule may scale out to.')
@minValue(1)
@maxValue(300)
param maxReplicas int = 10

@description('Concurrent HTTP requests per replica above which Container Apps adds a replica.')
@minValue(1)
param httpConcurrentRequests int = 50

@description('SHUTDOWN_GRACE_MS: on SIGTERM, how long requests in flight get to finish. The container\'s terminationGracePeriodSeconds is derived from it.')
@minValue(1000)
@maxValue(580000)
param shutdownGraceMs int = 10000

@description('LOG_LEVEL of the service.')
@allowed(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
param logLevel string = 'info'

@description('More environment variables, [{ name, value }]. Names must be variables of src/modules/config/config.schema.ts (e.g. REQUEST_BUDGET_MS, EXPORTS_WORKER_CONCURRENCY) that the template does not set already; secrets do not belong here.')
param additionalEnv array = []

@description('Open port 9464 (METRICS_PORT, Prometheus /metrics) to other apps of the Container Apps environment. It is never exposed through Front Door or the public ingress.')
param exposeMetricsInEnvironment bool = false

@description('Allow-list of CIDR ranges for the container app\'s public ingress (e.g. the AzureFrontDoor.Backend ranges). Empty: no IP restriction; the FRONT_DOOR_ID origin lock still refuses requests that did not come through this Front Door profile.')
param ingressAllowedCidrs array = []

// ---------------------------------------------------------------- authentication of callers

@description('AUTH_AUDIENCE: the application (client) id of the API\'s Entra ID app registration (v2 access tokens).')
param authAudience string

@description('AUTH_ISSUER. Empty: Entra ID v2 issuer of this tenant.')
param authIssuer string = ''

@description('AUTH_JWKS_URL. Empty: Entra ID v2 signing keys of this tenant.')
param authJwksUrl string = ''

@description('CURSOR_SECRET (at least 32 characters, same for every replica). Ignored when cursorSecretKeyVaultUrl is set.')
@secure()
param cursorSecret string = ''

@description('Key Vault secret URI holding CURSOR_SECRET, e.g. https://<vault>.vault.azure.net/secrets/flick-cursor-secret. The identity gets Key Vault Secrets User on that vault (RBAC mode). Empty: cursorSecret is used.')
param cursorSecretKeyVaultUrl string = ''

@description('Resource group of that Key Vault (same subscription).')
param keyVaultResourceGroup string = resourceGroup().name

// ---------------------------------------------------------------- gold (Cosmos DB)

@description('serverless: pay per request, one region. autoscale: provisioned autoscale throughput per container (cosmosMaxThroughput).')
@allowed(['serverless', 'autoscale'])
param cosmosCapacityMode string = 'autoscale'

@description('Autoscale maximum RU/s per container (autoscale mode). Keys: the container names.')
param cosmosMaxThroughput object = {
  catalog: 1000
  profiles: 4000
  popular: 1000
  segments: 1000
  partner_metrics: 1000
  manifests: 1000
  exports: 1000
}

@description('More read regions of the Cosmos DB account (autoscale mode only), e.g. [\'northeurope\'].')
param cosmosAdditionalRegions array = []

@description('COSMOS_PREFERRED_REGIONS: regions to read from, nearest first, as Azure names them (e.g. \'West Europe,North Europe\'). Empty: the account\'s write region.')
param cosmosPreferredRegions string = ''

@description('COSMOS_DATABASE.')
param cosmosDatabaseName string = 'flick-gold'

@description('Disable Cosmos DB account keys: the service and the publisher sign in with Entra ID only.')
param cosmosDisableLocalAuth bool = true

@description('Object ids of the principals that run the gold publisher (pipelines, operators): they get the Cosmos DB Built-in Data Contributor role.')
param goldPublisherPrincipalIds array = []

@description('GOLD_FRESHNESS_OBJECTIVES, e.g. profiles=8h. Empty: the service defaults.')
param goldFreshnessObjectives string = ''

@description('GOLD_HARD_LIMITS, e.g. profiles=48h. Empty: the service defaults.')
param goldHardLimits string = ''

// ---------------------------------------------------------------- Redis

@description('managed: Azure Managed Redis. cache: Azure Cache for Redis (being retired by Microsoft; for subscriptions that still run it).')
@allowed(['managed', 'cache'])
param redisService string = 'managed'

@description('standalone: the service connects with REDIS_URL (rediss://) to one endpoint (Azure Managed Redis: EnterpriseCluster policy). cluster: REDIS_CLUSTER_NODES with REDIS_TLS and REDIS_PASSWORD (Azure Managed Redis: OSSCluster policy; Azure Cache for Redis: Premium with shards).')
@allowed(['standalone', 'cluster'])
param redisMode string = 'standalone'

@description('Azure Managed Redis SKU, e.g. Balanced_B1, Balanced_B3, Balanced_B5, MemoryOptimized_M10.')
param redisManagedSku string = 'Balanced_B3'

@description('Azure Cache for Redis tier in standalone mode (cluster mode is always Premium).')
@allowed(['Standard', 'Premium'])
param redisCacheSku string = 'Standard'

@description('Azure Cache for Redis size: C0-C6 for Standard, P1-P5 for Premium.')
@minValue(0)
@maxValue(6)
param redisCacheCapacity int = 1

@description('Azure Cache for Redis shards in cluster mode.')
@minValue(1)
@maxValue(30)
param redisCacheShardCount int = 3

// ---------------------------------------------------------------- partner exports

@description('EXPORTS_CONTAINER: the blob container Azure Data Share shares with partners.')
param exportsContainerName string = 'exports'

@description('EXPORTS_DAILY_AT (HH:MM, UTC).')
param exportsDailyAt string = '02:00'

@description('Redundancy of the exports storage account (ZRS needs a region with availability zones).')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param storageSku string = 'Standard_ZRS'

@description('Allow shared-key (account key / SAS) access to the exports storage account. The service uses its managed identity; enable only if another tool needs keys.')
param storageAllowSharedKeyAccess bool = false

// ---------------------------------------------------------------- Front Door

@description('Front Door tier. Premium adds managed WAF rules and Private Link origins (neither is configured here).')
@allowed(['Standard_AzureFrontDoor', 'Premium_AzureFrontDoor'])
param frontDoorSku string = 'Standard_AzureFrontDoor'

@description('Seconds Front Door waits for the origin before failing a request (at least 16).')
@minValue(16)
@maxValue(240)
param frontDoorOriginTimeoutSeconds int = 30

@description('Seconds between Front Door health probes (HEAD /health/live) from each edge location.')
@minValue(5)
@maxValue(255)
param frontDoorProbeIntervalSeconds int = 60

// ---------------------------------------------------------------- observability

@description('Days Log Analytics keeps the container logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('OTEL_EXPORTER_OTLP_ENDPOINT: an OTLP/HTTP collector for traces (e.g. an OpenTelemetry Collector forwarding to Application Insights). Empty: tracing off.')
param otlpEndpoint string = ''

// ================================================================ derived names

var suffix = uniqueString(resourceGroup().id)
var identityName = '${namePrefix}-api-id'
var cosmosAccountName = toLower('${namePrefix}-gold-${suffix}')
var redisName = toLower('${namePrefix}-redis-${suffix}')
var storageAccountName = take(toLower(replace('${namePrefix}exp${suffix}', '-', '')), 24)
var logAnalyticsName = '${namePrefix}-logs'
var environmentName = '${namePrefix}-env'
var containerAppName = '${namePrefix}-api'
var frontDoorProfileName = '${namePrefix}-afd'
var frontDoorEndpointName = '${namePrefix}-api'

// https://<vault>.vault.azure.net/secrets/<name> -> <vault> ('' when no URL is given).
var keyVaultName = split(replace(cursorSecretKeyVaultUrl, 'https://', ''), '.')[0]

var loginEndpoint = environment().authentication.loginEndpoint
var effectiveAuthIssuer = empty(authIssuer) ? '${loginEndpoint}${tenant().tenantId}/v2.0' : authIssuer
var effectiveJwksUrl = empty(authJwksUrl) ? '${loginEndpoint}${tenant().tenantId}/discovery/v2.0/keys' : authJwksUrl

// ================================================================ resources

// The one identity of the API: Cosmos DB data plane, Blob storage, image pull, Key Vault reference.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource acr 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(acrName)) {
  name: acrName
}

// AcrPull: 7f951dda-4ed3-4680-a7ca-43fe172d538d
resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(acrName)) {
  name: guid(resourceGroup().id, acrName, identityName, 'acrpull')
  scope: acr
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')
  }
}

module keyVaultAccess 'modules/key-vault-access.bicep' = if (!empty(cursorSecretKeyVaultUrl)) {
  name: 'key-vault-access'
  scope: resourceGroup(keyVaultResourceGroup)
  params: {
    vaultName: keyVaultName
    principalId: identity.properties.principalId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    accountName: cosmosAccountName
    location: location
    tags: tags
    capacityMode: cosmosCapacityMode
    maxThroughput: cosmosMaxThroughput
    additionalRegions: cosmosAdditionalRegions
    databaseName: cosmosDatabaseName
    disableLocalAuth: cosmosDisableLocalAuth
    dataContributorPrincipalIds: concat([identity.properties.principalId], goldPublisherPrincipalIds)
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  params: {
    name: redisName
    location: location
    tags: tags
    service: redisService
    mode: redisMode
    managedSku: redisManagedSku
    cacheSku: redisCacheSku
    cacheCapacity: redisCacheCapacity
    cacheShardCount: redisCacheShardCount
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    accountName: storageAccountName
    location: location
    tags: tags
    containerName: exportsContainerName
    allowSharedKeyAccess: storageAllowSharedKeyAccess
    sku: storageSku
    blobDataContributorPrincipalId: identity.properties.principalId
  }
}

module frontDoorProfile 'modules/front-door-profile.bicep' = {
  name: 'front-door-profile'
  params: {
    name: frontDoorProfileName
    sku: frontDoorSku
    originTimeoutSeconds: frontDoorOriginTimeoutSeconds
    tags: tags
  }
}

module app 'modules/container-app.bicep' = {
  name: 'container-app'
  // Roles first, so that the first revision can pull its image and resolve its secret (the Cosmos
  // DB and storage roles come with the cosmos and storage modules, whose outputs it uses).
  dependsOn: [
    acrPull
    keyVaultAccess
  ]
  params: {
    environmentName: environmentName
    appName: containerAppName
    location: location
    tags: tags
    logAnalyticsName: logAnalytics.name
    identityId: identity.id
    identityClientId: identity.properties.clientId
    image: image
    registryServer: empty(acrName) ? '' : '${toLower(acrName)}${environment().suffixes.acrLoginServer}'
    cpu: cpu
    memory: memory
    minReplicas: minReplicas
    maxReplicas: maxReplicas
    httpConcurrentRequests: httpConcurrentRequests
    shutdownGraceMs: shutdownGraceMs
    logLevel: logLevel
    additionalEnv: additionalEnv
    exposeMetricsInEnvironment: exposeMetricsInEnvironment
    ingressAllowedCidrs: ingressAllowedCidrs
    frontDoorId: frontDoorProfile.outputs.frontDoorId
    authIssuer: effectiveAuthIssuer
    authAudience: authAudience
    authJwksUrl: effectiveJwksUrl
    cursorSecret: cursorSecret
    cursorSecretKeyVaultUrl: cursorSecretKeyVaultUrl
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmosDatabaseName
    cosmosPreferredRegions: cosmosPreferredRegions
    goldFreshnessObjectives: goldFreshnessObjectives
    goldHardLimits: goldHardLimits
    redisService: redisService
    redisName: redis.outputs.name
    redisHost: redis.outputs.hostName
    redisPort: redis.outputs.port
    redisMode: redisMode
    exportsAccountUrl: storage.outputs.blobEndpoint
    exportsContainerName: exportsContainerName
    exportsDailyAt: exportsDailyAt
    otlpEndpoint: otlpEndpoint
  }
}

module frontDoorRouting 'modules/front-door-routing.bicep' = {
  name: 'front-door-routing'
  params: {
    profileName: frontDoorProfile.outputs.name
    endpointName: frontDoorEndpointName
    originHostName: app.outputs.fqdn
    probeIntervalSeconds: frontDoorProbeIntervalSeconds
    tags: tags
  }
}

// ================================================================ outputs

@description('Public host name of the API: https://<this>/graphql.')
output frontDoorHostName string = frontDoorRouting.outputs.hostName

@description('FRONT_DOOR_ID given to the app (the X-Azure-FDID Front Door sends).')
output frontDoorId string = frontDoorProfile.outputs.frontDoorId

@description('Origin host name (answers 403 without the X-Azure-FDID header).')
output containerAppFqdn string = app.outputs.fqdn

output containerAppName string = containerAppName
output cosmosEndpoint string = cosmos.outputs.endpoint
output cosmosAccountName string = cosmosAccountName
output cosmosDatabaseName string = cosmosDatabaseName
output redisHostName string = redis.outputs.hostName
output exportsAccountUrl string = storage.outputs.blobEndpoint
output exportsStorageAccountName string = storageAccountName
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
