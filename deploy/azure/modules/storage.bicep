// Blob storage for partner exports (docs/partner-exports.md): one private container that Azure
// Data Share shares with the partners. The service writes with its managed identity
// (EXPORTS_STORAGE_ACCOUNT_URL + DefaultAzureCredential, src/partner-exports/export-blob.store.ts).

param accountName string
param location string
param tags object
param containerName string
param allowSharedKeyAccess bool
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param sku string
@description('Object id that gets Storage Blob Data Contributor on the exports container.')
param blobDataContributorPrincipalId string

// Storage Blob Data Contributor
var blobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: accountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: sku
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: allowSharedKeyAccess
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource exports 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource writer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exports.id, blobDataContributorPrincipalId, blobDataContributorRoleId)
  scope: exports
  properties: {
    principalId: blobDataContributorPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributorRoleId)
  }
}

output blobEndpoint string = account.properties.primaryEndpoints.blob
