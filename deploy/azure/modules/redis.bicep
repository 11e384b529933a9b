// Redis for the shared L2 cache, playback progress, rate-limit counters, the degradation timeline
// and the daily-export lock of every replica. TLS only. The service authenticates with an access
// key (src/modules/cache/redis-client.factory.ts has no Entra ID token support), so access keys stay
// enabled; the container app module reads the key itself (it never appears in an output).
//
// service 'managed': Azure Managed Redis (Microsoft.Cache/redisEnterprise), port 10000.
//   standalone -> EnterpriseCluster policy: one endpoint, the service connects with REDIS_URL.
//   cluster    -> OSSCluster policy: the service connects as a Redis Cluster client.
// service 'cache': Azure Cache for Redis (Microsoft.Cache/redis), port 6380; being retired by
//   Microsoft, kept for subscriptions that run it already.
//   standalone -> Standard or Premium without shards; cluster -> Premium with shards.
//
// Every key the service writes is cluster-safe (related keys share a hash tag,
// src/modules/cache/cache-keys.ts), so either clustering policy works with the same key layout.

param name string
param location string
param tags object
@allowed(['managed', 'cache'])
param service string
@allowed(['standalone', 'cluster'])
param mode string
@description('managed: the Azure Managed Redis SKU, e.g. Balanced_B3.')
param managedSku string
@allowed(['Standard', 'Premium'])
param cacheSku string
param cacheCapacity int
param cacheShardCount int

var cluster = mode == 'cluster'
var managed = service == 'managed'

// ---------------------------------------------------------------- Azure Managed Redis

resource managedCluster 'Microsoft.Cache/redisEnterprise@2025-07-01' = if (managed) {
  name: name
  location: location
  tags: tags
  sku: {
    name: managedSku
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    highAvailability: 'Enabled'
  }
}

resource managedDatabase 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = if (managed) {
  parent: managedCluster
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    clusteringPolicy: cluster ? 'OSSCluster' : 'EnterpriseCluster'
    // Under memory pressure only keys with a TTL are evicted (cache entries); keys without one,
    // such as the daily-export lock's fencing counter, are kept.
    evictionPolicy: 'VolatileLRU'
    accessKeysAuthentication: 'Enabled'
  }
}

// ---------------------------------------------------------------- Azure Cache for Redis

var cacheSkuName = cluster ? 'Premium' : cacheSku
var cacheProperties = {
  sku: {
    name: cacheSkuName
    family: cacheSkuName == 'Premium' ? 'P' : 'C'
    capacity: cacheSkuName == 'Premium' ? max(cacheCapacity, 1) : cacheCapacity
  }
  enableNonSslPort: false
  minimumTlsVersion: '1.2'
  publicNetworkAccess: 'Enabled'
  redisVersion: '6'
  disableAccessKeyAuthentication: false
  redisConfiguration: {
    'maxmemory-policy': 'volatile-lru'
  }
}
var clusterProperties = cluster ? { shardCount: cacheShardCount } : {}

resource cache 'Microsoft.Cache/redis@2024-11-01' = if (!managed) {
  name: name
  location: location
  tags: tags
  properties: union(cacheProperties, clusterProperties)
}

output name string = name
output hostName string = managed ? managedCluster!.properties.hostName : cache!.properties.hostName
output port int = managed ? 10000 : 6380
