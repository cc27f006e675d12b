// Lua scripts are imported as text: tsup's text loader in builds, a plugin in vitest.config.ts.
declare module '*.lua' {
  const source: string;
  export default source;
}
