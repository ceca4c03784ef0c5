import type { IRouteRequest } from './classes.baseregistry.js';
import type { IStorageOperationContext } from './classes.registrystorage.js';
import type { RequestBody } from './classes.requestbody.js';
import type { IResolvedDownloads } from './helpers.downloads.js';
import { resolvePublicUrls, type IPublicUrlOptions, type IPublicUrls } from './helpers.publicurl.js';
import type { IAuthToken } from './interfaces.auth.js';
import type { IRequestContext } from './interfaces.core.js';
import { extendRecord } from './helpers.record.js';

/**
 * One routed request. A class, so that its public URLs and storage context are built on first use behind getters
 * of the prototype (an object literal with getters is a dictionary of its own per request): most requests, a
 * download or a redirect among them, link to nothing.
 */
export class RouteRequest implements IRouteRequest {
  token: IAuthToken | null = null;
  eventTarget?: IRouteRequest['eventTarget'];
  heldRedirect?: IRouteRequest['heldRedirect'];
  private urls?: IPublicUrls;
  private context?: IStorageOperationContext;

  constructor(
    readonly ctx: IRequestContext,
    readonly method: string,
    readonly path: string,
    readonly params: Record<string, string>,
    readonly query: Record<string, string>,
    readonly headers: Record<string, string>,
    readonly body: RequestBody,
    readonly downloads: IResolvedDownloads | undefined,
    private readonly protocol: IStorageOperationContext['protocol'],
    private readonly urlOptions: IPublicUrlOptions,
  ) {}

  /**
   * Built on first use, once the permission check has set the token (a document GET whose storage reads take no
   * context builds none). A bridge may know the client's address but not who it is: the token says that.
   */
  get storageContext(): IStorageOperationContext {
    if (!this.context) {
      const { actor } = this.ctx;
      const token = this.token;
      this.context = {
        protocol: this.protocol,
        actor: token && actor?.userId === undefined ? extendRecord(actor, { userId: token.userId, tokenId: token.tokenId }) : actor,
      };
    }
    return this.context;
  }

  set storageContext(context: IStorageOperationContext) {
    this.context = context;
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
