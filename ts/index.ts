export { SmartRegistry, type ISmartRegistryOptions } from './classes.smartregistry.js';
export { createNodeHandler } from './adapters/node.js';
export { handleFetchRequest } from './adapters/fetch.js';

export * from './core/interfaces.core.js';
export * from './core/interfaces.auth.js';
export * from './core/interfaces.operations.js';
export * from './core/interfaces.metrics.js';
export type { RegistryMetrics, IRequestObservation } from './core/classes.registrymetrics.js';
export type { IReadiness } from './core/classes.healthcheck.js';
export { webhookSignature } from './core/classes.webhookdelivery.js';
export { buildStorageReport, type IStorageReport, type IStorageReportOptions, type IStorageUsage, type IProtocolUsage } from './core/classes.storagereport.js';
export { AuthManager } from './core/classes.authmanager.js';
export { DefaultAuthProvider } from './core/classes.defaultauthprovider.js';
export { hashPassword } from './core/helpers.password.js';
export { scopeGrants, parseScope } from './core/helpers.scope.js';
export { RegistryStorage, UNCHANGED, DELETE, type IStorageOperationContext } from './core/classes.registrystorage.js';
export { BaseRegistry, auditParams, type TRouteAudit, type IRoute, type IRouteRequest, type IProtocolDependencies } from './core/classes.baseregistry.js';
export { RegistryError, type TRegistryErrorKind } from './core/classes.registryerror.js';
export type { IStorageBackend, IObjectInfo, IPutOptions, IPutResult, IGetResult } from './core/storage/interfaces.storage.js';
export { FilesystemBackend } from './core/storage/classes.filesystembackend.js';
// The S3 backend's class is exported as a type only: importing it loads the AWS SDK, which a
// registry on the filesystem never needs. `createStorageBackend(s3Config)` makes one on demand.
export type { S3Backend } from './core/storage/classes.s3backend.js';
export { createStorageBackend } from './core/storage/index.js';
export { streamToBuffer, streamToJson, toReadableStream } from './core/helpers.stream.js';

export * from './upstream/interfaces.upstream.js';
export { StaticUpstreamProvider } from './upstream/classes.staticupstreamprovider.js';
