// The admin console: one HTML page and its plain ES modules and CSS, served as they are (no build step).
// Everything runs under the app's strict CSP (interfaces/http/app.ts): no inline script or style, so the
// page only references files under /assets/.
import { fileURLToPath } from 'node:url';
import express, { Router, type Response } from 'express';

/** Resolved beside this file, so it works from the sources (tsx) and from dist/ (the Dockerfile copies non-.ts files). */
export const WEB_STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

// The assets carry no content hash (no build step), so a long max-age could pair a new index.html with
// old modules after a deploy. `no-cache` still lets the browser keep them and revalidate with ETag (a 304).
const ASSET_CACHE = 'no-cache';

const setAssetHeaders = (res: Response, path: string): void => {
  res.setHeader('Cache-Control', ASSET_CACHE);
  // express.static knows .js as text/javascript already; .mjs and .svg are spelled out to be independent of mime tables.
  if (path.endsWith('.mjs')) res.type('text/javascript');
  else if (path.endsWith('.svg')) res.type('image/svg+xml');
};

export type WebRoutesOptions = {
  /** another directory of console files (tests); defaults to interfaces/web/static */
  staticDir?: string;
};

/** GET / (the console page) and GET /assets/* (its files). Unknown assets fall through to the API's JSON 404. */
export const webRoutes = (options: WebRoutesOptions = {}): Router => {
  const dir = options.staticDir ?? WEB_STATIC_DIR;
  const router = Router();

  router.get('/', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile('index.html', { root: dir, dotfiles: 'deny', lastModified: true }, (error) => {
      if (error) next(error);
    });
  });

  router.use(
    '/assets',
    express.static(dir, {
      // index: false and redirect: false mean a directory is never listed nor redirected: it is a plain 404.
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      fallthrough: true,
      etag: true,
      lastModified: true,
      setHeaders: setAssetHeaders,
    }),
  );

  return router;
};
