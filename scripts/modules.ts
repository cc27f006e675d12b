/**
 * The package's modules, and what a bundle of each may pull in beyond its own code and
 * src/core: the npm packages it really uses, and whether it must run in browsers (no `node:`).
 */
export interface ModuleInfo {
  name: string;
  dependencies: readonly string[];
  browser: boolean;
}

export const modules: readonly ModuleInfo[] = [
  { name: 'oidc', dependencies: ['jose'], browser: false },
  { name: 'webhooks', dependencies: ['p-retry'], browser: false },
  { name: 'ratelimit', dependencies: [], browser: false },
  { name: 'graphql', dependencies: ['graphql', 'dataloader'], browser: false },
  { name: 'grpc', dependencies: ['@grpc/grpc-js'], browser: false },
  { name: 'cqrs', dependencies: [], browser: false },
  { name: 'realtime', dependencies: [], browser: true },
  { name: 'prewarm', dependencies: [], browser: false },
];
