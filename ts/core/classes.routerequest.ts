import type { IRouteRequest } from './classes.baseregistry.js';
import type { IStorageOperationContext } from './classes.registrystorage.js';
import type { RequestBody } from './classes.requestbody.js';
import type { IResolvedDownloads } from './helpers.downloads.js';
import { resolvePublicUrls, type IPublicUrlOptions, type IPublicUrls } from './helpers.publicurl.js';
import type { IAuthToken } from './interfaces.auth.js';
import type { IRequestContext } from './interfaces.core.js';

/**
 * One routed request. A class, so that its public URLs are built on first use behind getters of the prototype
 * (an object literal with getters is a dictionary of its own per request): most requests, a download or a
 * redirect among them, link to nothing.
 */
export class RouteRequest implements IRouteRequest {
  token: IAuthToken | null = null;
  storageContext: IStorageOperationContext;
  eventTarget?: IRouteRequest['eventTarget'];
  private urls?: IPublicUrls;

  constructor(
    readonly ctx: IRequestContext,
    readonly method: string,
    readonly path: string,
    readonly params: Record<string, string>,
    readonly query: Record<string, string>,
    readonly headers: Record<string, string>,
    readonly body: RequestBody,
    readonly downloads: IResolvedDownloads | undefined,
    protocol: IStorageOperationContext['protocol'],
    private readonly urlOptions: IPublicUrlOptions,
  ) {
    this.storageContext = { protocol, actor: ctx.actor };
  }

  get baseUrl(): string {
    return this.publicUrls().baseUrl;
  }

  get hostUrl(): string {
    return this.publicUrls().hostUrl;
  }

  private publicUrls(): IPublicUrls {
    return (this.urls ??= resolvePublicUrls(this.headers, this.urlOptions));
  }
}
