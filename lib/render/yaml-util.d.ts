// `yaml/util` is a public entry point of the yaml package (its package.json `exports`), which the
// bundler and Node resolve; TypeScript's `moduleResolution: node` does not read `exports`, so the
// entry point's types are named here.
declare module 'yaml/util' {
  export * from 'yaml/dist/util';
}
