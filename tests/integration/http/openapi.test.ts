import { expect } from 'chai';
import type { Express } from 'express';
import { openApiDocument } from '#interfaces/http/openapi.js';
import { request, startTestApp, type TestApp } from '../../support/app.js';

type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };

/** Every (method, path) the express app routes, in OpenAPI path syntax. */
const routesOf = (app: Express): Set<string> => {
  const found = new Set<string>();
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods))
          found.add(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found;
};

describe('OpenAPI description', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('documents exactly the routes the app serves (the WebSocket upgrade aside)', () => {
    const app = t.app.server.listeners('request')[0] as Express;
    const served = routesOf(app);
    const documented = new Set(
      Object.entries(openApiDocument.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    documented.delete('GET /ws/metrics');
    const undocumented = [...served].filter((route) => !documented.has(route));
    const phantom = [...documented].filter((route) => !served.has(route));
    expect(undocumented, 'served but not documented').to.deep.equal([]);
    expect(phantom, 'documented but not served').to.deep.equal([]);
  });

  it('is served at /api/openapi.json as OpenAPI 3.1 with the shared error schema', async () => {
    const response = await request(t.baseUrl, 'GET', '/api/openapi.json');
    expect(response.status).to.equal(200);
    expect(response.body.openapi).to.equal('3.1.0');
    expect(response.body.components.schemas.Error.properties.error.required).to.deep.equal([
      'code',
      'message',
      'correlationId',
    ]);
  });
});
